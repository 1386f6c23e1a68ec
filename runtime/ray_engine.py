"""Run a job's files on a Ray cluster: ``scorer batch IN... -o OUT/ --engine ray``.

The model travels to the workers through Ray's object store (no shared disk needed) and is
loaded once per worker, an actor. Each actor scores whole files with the same
``jobs.score_task`` as the local engine, so outputs are identical; files are handed out as
actors become free. A worker holds ``cpus_per_worker`` CPUs and runs that many model calls at
once with one onnxruntime intra-op thread each (onnxruntime ignores OMP_NUM_THREADS, and its
default of one thread per core in every worker oversubscribes a node); on a cluster with
GPUs each worker also takes one GPU and the CUDA provider. An actor that dies (a killed
process, a lost node) is restarted by Ray and its file is redone from the start; the output
appears only when complete, so nothing is lost or written twice.

Also, for pipelines that already hold a ``ray.data.Dataset``:

    from lstm_sentiment.runtime.ray_engine import score_dataset
    scored = score_dataset(ds, text_column="review", model="int8")   # adds score/label/error
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lstm_sentiment.runtime.batch import BatchOptions
from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.readers import NO_WORDS, check_text

if TYPE_CHECKING:
    from lstm_sentiment.runtime.jobs import JobOptions, Task

RETRIES = 3  # times a file is redone after its worker died


class RayError(LstmSentimentError):
    """Ray is missing, or the cluster cannot be reached."""


@dataclass(frozen=True)
class WorkerPlan:
    workers: int
    cpus_per_worker: int
    gpus_per_worker: int
    provider: str


def plan_workers(resources: dict[str, float], provider: str, files: int) -> WorkerPlan:
    """How many workers, with what, for a cluster's ``ray.cluster_resources()``.

    One CPU per worker keeps every core busy with files of its own; a GPU cluster gets one
    worker per GPU (with a CPU for reading and tokenizing). Never more workers than files.
    """
    cpus = max(1, int(resources.get("CPU", 1)))
    gpus = int(resources.get("GPU", 0))
    use_gpu = gpus > 0 and provider in ("auto", "cuda", "tensorrt")
    if use_gpu:
        chosen = "cuda" if provider == "auto" else provider
        return WorkerPlan(max(1, min(gpus, files)), 1, 1, chosen)
    if provider in ("cuda", "tensorrt"):
        raise RayError(f"--provider {provider}: the Ray cluster offers no GPU")
    return WorkerPlan(max(1, min(cpus, files)), 1, 0, "cpu")


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RayError(
            "--engine ray needs Ray: pip install 'lstm-sentiment[ray]' (on every node of the "
            "cluster too)"
        ) from None
    return ray


def connect(address: str | None) -> Any:
    """Join the cluster at ``address`` (None: start a local one, or reuse this process's)."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
            configure_logging=False,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = address or "a local instance"
        raise RayError(f"cannot reach the Ray cluster at {where}: {error}") from None
    return ray


def run_on_ray(
    tasks: list[Task], options: JobOptions, model_path: Path
) -> Iterator[dict[str, Any]]:
    """Score ``tasks`` (``jobs.Task``) on the cluster; yields each file's manifest entry as it
    finishes, in the order files finish."""
    if not tasks:
        return
    ray = connect(options.address)
    plan = plan_workers(ray.cluster_resources(), options.batch.provider, len(tasks))
    model_ref = ray.put(model_path.read_bytes())
    worker_class = ray.remote(
        num_cpus=plan.cpus_per_worker,
        num_gpus=plan.gpus_per_worker,
        max_restarts=-1,
        max_task_retries=RETRIES,
    )(_FileScorer)
    batch = dataclasses.replace(
        options.batch, provider=plan.provider, threads=1, workers=plan.cpus_per_worker
    )
    actors = [
        worker_class.remote(model_path.name, batch, options.read, options.output_format)
        for _ in range(plan.workers)
    ]
    # The model goes with every call as a reference inside a list: a worker fetches it on its
    # first file, and a restarted worker again (Ray would not restore a constructor argument).
    model = [model_ref]
    queue, free, running = list(tasks), list(actors), {}
    try:
        while queue or running:
            while queue and free:
                actor, task = free.pop(), queue.pop(0)
                running[actor.score.remote(task, model)] = (task, actor)
            (ref,), _ = ray.wait(list(running), num_returns=1)
            task, actor = running.pop(ref)
            free.append(actor)
            try:
                yield ray.get(ref)
            except ray.exceptions.RayError as error:  # its worker died more than RETRIES times
                first = str(error).strip().splitlines()[0] if str(error).strip() else ""
                yield {"input": task.input, "output": task.output, **task.fingerprint,
                       "status": "failed", "error": f"{type(error).__name__}: {first}"}  # fmt: skip
    finally:
        for actor in actors:
            ray.kill(actor)


class _FileScorer:
    """A Ray actor: one loaded model, scoring whole files."""

    def __init__(self, name: str, batch: BatchOptions, read: Any, output_format: str) -> None:
        self.name, self.batch, self.read, self.output_format = name, batch, read, output_format
        self.model: Any = None

    def _load(self, model_ref: list[Any]) -> Any:
        import ray

        from lstm_sentiment.runtime.model import SentimentModel

        if self.model is None:
            # The session holds the model once loaded, so the worker's copy goes right away.
            with tempfile.TemporaryDirectory(prefix="lstm-sentiment-model-") as folder:
                path = Path(folder) / self.name
                path.write_bytes(ray.get(model_ref[0]))
                self.model = SentimentModel.load(
                    path, self.batch.provider, self.batch.threads, self.batch.allow_cpu_nodes
                )
        return self.model

    def score(self, task: Any, model_ref: list[Any]) -> dict[str, Any]:
        from lstm_sentiment.runtime.jobs import score_task

        model = self._load(model_ref)
        return score_task(task, self.read, self.batch, self.output_format, model)


# -- ray.data ------------------------------------------------------------------------------------


def score_dataset(
    dataset: Any,
    text_column: str = "review",
    model: str = "fp32",
    *,
    batch_size: int = 256,
    concurrency: int | None = None,
) -> Any:
    """``dataset`` with ``score``, ``label`` and ``error`` columns added, scored by workers
    that each load ``model`` once (a shipped variant name or a path every worker can read).

    A row whose text cannot be scored gets a null score and label and the same error text as
    ``scorer batch``; no row is dropped and the order of rows is Ray Data's."""
    _ray()
    return dataset.map_batches(
        _BatchScorer,
        fn_constructor_kwargs={"model": model, "text_column": text_column},
        batch_size=batch_size,
        batch_format="pyarrow",
        concurrency=concurrency or 1,
    )


class _BatchScorer:
    def __init__(self, model: str, text_column: str) -> None:
        from lstm_sentiment.runtime.model import SentimentModel

        self.model = SentimentModel.load(model, "auto", 1)
        self.text_column = text_column

    def __call__(self, batch: Any) -> Any:
        import numpy as np
        import pyarrow as pa

        texts = batch.column(self.text_column).to_pylist()
        errors = [check_text(text) for text in texts]
        readable = [text for text, error in zip(texts, errors, strict=True) if not error]
        scores = self.model.score(readable) if readable else np.zeros(0)
        rule = self.model.label_rule()
        out_scores, out_labels, out_errors = [], [], []
        values = iter(scores)
        for error in errors:
            score = None if error else float(next(values))
            if score is not None and np.isnan(score):
                score, error = None, NO_WORDS
            out_scores.append(score)
            out_labels.append(rule(score))
            out_errors.append(error)
        return (
            batch.append_column("score", pa.array(out_scores, pa.float32()))
            .append_column("label", pa.array(out_labels, pa.string()))
            .append_column("error", pa.array(out_errors, pa.string()))
        )
