"""Run a job's files on a Ray cluster: ``scorer batch IN... -o OUT/ --engine ray``.

The model travels to the workers through Ray's object store (no shared disk needed) and is
loaded once per worker, an actor. Each actor scores whole files with the same
``jobs.score_task`` as the local engine, so outputs are identical; files are handed out as
actors become free. A worker holds ``cpus_per_worker`` CPUs and runs that many model calls at
once with one onnxruntime intra-op thread each (onnxruntime ignores OMP_NUM_THREADS, and its
default of one thread per core in every worker oversubscribes a node); on a cluster with
GPUs each worker also takes one GPU and the CUDA provider. An actor that dies (a killed
process, a lost node) is restarted by Ray and its file is redone from the start; the output
appears only when complete, so nothing is lost or written twice. When this process starts
the Ray instance itself (no ``--address``), it is one of the instance's workers: it plans
and scores from the start, while Ray and the other workers start, and beside one worker
fewer once they run.

Also, for pipelines that already hold a ``ray.data.Dataset``:

    from lstm_sentiment.runtime.ray_engine import score_dataset
    scored = score_dataset(ds, text_column="review", model="int8")   # adds score/label/error
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from queue import SimpleQueue
from typing import TYPE_CHECKING, Any

from lstm_sentiment.runtime.batch import BatchOptions
from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.readers import NO_WORDS, check_text

if TYPE_CHECKING:
    from lstm_sentiment.runtime.jobs import JobOptions, Task
    from lstm_sentiment.runtime.ranges import Range

RETRIES = 3  # times a file is redone after its worker died
LOCAL_OBJECT_STORE = 256 << 20  # bytes, at least, for a Ray instance a job starts itself


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


def connect(address: str | None, model_bytes: int = 0, reserve: int = 0) -> Any:
    """Join the cluster at ``address`` (None: start a local one, or reuse this process's).

    ``reserve``: CPUs that a local instance leaves to this process, which scores on them
    itself (at least one CPU is always offered, so that one worker can start)."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    local: dict[str, Any] = {}
    if starts_local_instance(address):
        # A job's object store holds the model and the ranges' small results; Ray's default
        # (30% of memory) takes a second longer to set up on every start.
        local["object_store_memory"] = max(LOCAL_OBJECT_STORE, 4 * model_bytes)
        # Ray starts its workers at nice 15, below this process: here they are the job's
        # scorers, not background helpers, and at that niceness one starves beside the
        # process scoring at nice 0 on the next core.
        local["_system_config"] = {"worker_niceness": 0}
        if reserve:
            # Ray prestarts an idle worker per CPU it offers: one for the core this process
            # scores on costs start-up time and never gets a range.
            local["num_cpus"] = max(1, local_cpus() - reserve)
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            logging_level="ERROR",
            log_to_driver=False,
            configure_logging=False,
            **local,
        )
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = address or "a local instance"
        raise RayError(f"cannot reach the Ray cluster at {where}: {error}") from None
    if local:
        # Runs before Ray's own exit hook, which was registered first (atexit runs last in,
        # first out).
        atexit.register(_stop_own_instance)
    return ray


def _stop_own_instance() -> None:
    """Stop the instance this process started: its autoscaler monitor first, then
    ``ray.shutdown``.

    ``ray.shutdown`` stops the GCS before the monitor, and the monitor's SIGTERM handler
    then waits on the stopped GCS until Ray gives up and kills it, a second later: a second
    added to every job that starts its own instance. A one-node instance has nothing to
    scale, so the monitor has nothing to save. Reaches into Ray's node object (no public
    way): a Ray that moved it simply stops as slowly as before. The shutdown is called here
    because Ray's own exit hook sleeps half a second first (for a script's last logs, which
    a job does not send to the driver) and then finds nothing left to stop.
    """
    try:
        from ray._private import worker

        node = worker._global_node
        monitors = node.all_processes.get("monitor", []) if node is not None else []
        for info in monitors:
            info.process.kill()
            info.process.wait(timeout=1)
    except Exception:  # an exit hook must not fail the exit
        pass
    try:
        import ray

        ray.shutdown()
    except Exception:
        pass


def run_on_ray(
    tasks: list[Task],
    options: JobOptions,
    model_path: Path,
    earlier: dict[str, list[dict[str, Any]] | None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Score ``tasks`` (``jobs.Task``) on the cluster; yields each file's manifest entry as it
    finishes, in the order files finish, and for a file split into ranges
    (``runtime/ranges.py``) a "partial" entry after each range. ``earlier``: the ranges an
    interrupted run planned per input, with their results (``Manifest.ranges_done``)."""
    if not tasks:
        return
    _ray()  # before any reading: a missing Ray is one error line
    splits = {t.input for t in tasks if _splits(t, options)}
    # The planning read of big files (where ranges may be cut) runs while Ray starts.
    reading = ThreadPoolExecutor(max_workers=1)
    edges = {
        t.input: reading.submit(_window_edges, t.input, options)
        for t in tasks
        if t.input in splits and not (earlier or {}).get(t.input)
    }
    reading.shutdown(wait=False)
    # Workers start while the planning read goes on, so their number comes from an estimate
    # of the ranges (a file's size over their size).
    sizes = [
        -(-int(t.fingerprint.get("size") or 0) // options.range_bytes) if t.input in splits else 1
        for t in tasks
    ]
    estimate = max(1, sum(sizes))
    driver = None
    cpus = local_cpus()
    if starts_local_instance(options.address) and _on_cpu(options.batch.provider):
        # This process is about to start the instance and so is one of its nodes: it scores
        # too, from the start, while Ray and its workers start (seconds on a small machine),
        # on a core the instance leaves to it, beside one worker fewer once they run.
        batch = dataclasses.replace(options.batch, provider="cpu", threads=1, workers=1)
        driver = _Driver(model_path, batch, options)
        driver.start(lambda: _units(tasks, splits, options, earlier or {}, edges, cpus))
    try:
        ray = connect(options.address, model_path.stat().st_size, reserve=int(driver is not None))
    except RayError:
        for future in edges.values():
            future.cancel()  # the one already reading finishes its file
        if driver is not None:
            driver.stop()
        raise
    plan = plan_workers(ray.cluster_resources(), options.batch.provider, estimate)
    count = actor_count(plan, driver is not None, estimate, cpus)
    actors = _start_actors(ray, plan, count, model_path, options)
    try:
        if driver is not None:
            driver.planned.wait()
            driver.check()
            units, settled, take = driver.units, driver.settled, driver.take
        else:
            units, settled = _units(tasks, splits, options, earlier or {}, edges, plan.workers)
            queue = deque(units)

            def take() -> Unit | None:
                return queue.popleft() if queue else None

        yield from settled
        # The model goes with every call as a reference inside a list: a worker fetches it on
        # its first file, and a restarted worker again (Ray would not restore a constructor
        # argument).
        model = [ray.put(model_path.read_bytes())] if actors else []
        yield from _dispatch(ray, actors, model, units, take, driver)
    finally:
        if driver is not None:
            driver.stop()
        for actor in actors:
            ray.kill(actor)


def _dispatch(
    ray: Any,
    actors: list[Any],
    model: list[Any],
    units: list[Unit],
    take: Callable[[], Unit | None],
    driver: _Driver | None,
) -> Iterator[dict[str, Any]]:
    """Give each free worker the next of ``units`` from ``take`` until none is left; yields
    each file's manifest entry as its unit finishes (a split file's after each range), the
    ``driver``'s units (this process's own, when it scores too) among them."""
    from lstm_sentiment.runtime.jobs import split_entry

    ranges = {t.input: results for t, _, results in units if results is not None}
    free, running = list(actors), {}
    while True:
        while free and (unit := take()) is not None:
            actor = free.pop()
            running[actor.score_unit.remote(unit[0], unit[1], model)] = (unit, actor)
        finished = driver.finished() if driver is not None else []
        driving = driver is not None and driver.busy
        if running:
            # short waits while the driver works, so that its results are not held up
            done, _ = ray.wait(list(running), num_returns=1, timeout=0.05 if driving else None)
            for ref in done:
                unit, actor = running.pop(ref)
                free.append(actor)
                finished.append((unit, _result(ray, ref, unit[1])))
        elif not finished:
            if driver is None or not (driving or driver.pending()):
                break
            driver.thread.join(timeout=0.05)
        if driver is not None:
            driver.check()
        for (task, part, _), result in finished:
            if part is None:
                yield {"input": task.input, "output": task.output, **task.fingerprint} | result
                continue
            results = ranges[task.input]
            results[part.index] = result
            yield split_entry(task, results)


Unit = tuple["Task", "Range | None", "list[dict[str, Any]] | None"]


def actor_count(plan: WorkerPlan, driving: bool, units: int, cpus: int) -> int:
    """The actors to start for ``plan``. ``driving``: this process scores too, on one of the
    ``cpus`` of the instance it started, which offers it the others (``connect``); the
    actors are then the workers beside it, for the ``units`` it does not take first."""
    if not driving:
        return plan.workers
    return max(0, min(plan.workers, units - 1, cpus - 1))


def starts_local_instance(address: str | None) -> bool:
    """Whether ``connect(address)`` will start a Ray instance in this process, rather than
    join a running cluster (``address``, ``RAY_ADDRESS``, or one this process joined)."""
    return address is None and not os.environ.get("RAY_ADDRESS") and not _ray().is_initialized()


def local_cpus() -> int:
    """The CPUs a Ray instance started here offers (Ray counts them so, cgroup limits too)."""
    try:
        from ray._private.utils import get_num_cpus

        return max(1, int(get_num_cpus()))
    except (ImportError, AttributeError):  # a Ray without that helper: the usable cores
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def _on_cpu(provider: str) -> bool:
    import onnxruntime as ort

    from lstm_sentiment.runtime.providers import CPU, select_providers

    return select_providers(provider, ort.get_available_providers())[0] == CPU


def _window_edges(path: str, options: JobOptions) -> Any:
    from lstm_sentiment.runtime.ranges import window_edges
    from lstm_sentiment.runtime.readers import InputSpec

    return window_edges(InputSpec(path.removeprefix("file://"), options.read), options.batch.window)


def _splits(task: Task, options: JobOptions) -> bool:
    from lstm_sentiment.runtime.ranges import why_not_split

    return not why_not_split(
        task.input, task.output, options.read, options.output_format, options.range_bytes
    )


def _units(
    tasks: list[Task],
    splits: set[str],
    options: JobOptions,
    earlier: dict[str, list[dict[str, Any]] | None],
    edges: dict[str, Future[Any]],
    workers: int,
) -> tuple[list[Unit], list[dict[str, Any]]]:
    """What the workers get: whole files, or the ranges still to score of a big file (an
    input in ``splits``; an interrupted run's plan and finished parts kept); and the entries
    of files settled here: those whose planning read failed, and those whose every range an
    earlier run did."""
    from lstm_sentiment.runtime.errors import LstmSentimentError
    from lstm_sentiment.runtime.jobs import split_entry
    from lstm_sentiment.runtime.ranges import Range, part_path

    units: list[Unit] = []
    settled: list[dict[str, Any]] = []
    spans: dict[str, int] = {}  # a split file's records, in bytes (Parquet: rows)
    for task in tasks:
        if task.input not in splits:
            units.append((task, None, None))
            continue
        planned = earlier.get(task.input)
        try:
            if planned:
                parts = [Range.from_dict(r) for r in planned]
            else:
                parts = edges[task.input].result().ranges(options.range_bytes, workers)
                planned = [p.as_dict() for p in parts]
        except (LstmSentimentError, OSError, KeyError, TypeError, ValueError) as error:
            settled.append({"input": task.input, "output": task.output, **task.fingerprint,
                            "status": "failed", "error": str(error)})  # fmt: skip
            continue
        spans[task.input] = sum(p.span.end - p.span.start for p in parts)
        results: list[dict[str, Any]] = []
        for part, before in zip(parts, planned, strict=True):
            kept = before.get("status") == "done" and Path(part_path(task.output, part.index))
            if kept and kept.exists():
                results.append(before | {"resumed": True})
            else:
                results.append(part.as_dict())
                units.append((task, part, results))
        if all(r.get("resumed") for r in results):
            settled.append(split_entry(task, results))
    # Longest first: the units are handed out as workers free up, so the last ones decide
    # how long the others wait idle at the end, and a file's ranges differ by up to a window.
    units.sort(key=lambda unit: _bytes(unit, spans), reverse=True)
    return units, settled


def _bytes(unit: Unit, spans: dict[str, int]) -> float:
    """About how many bytes ``unit`` reads: its file's size, or its range's share of it
    (``spans``: each split file's records, as its ranges count them)."""
    task, part, _ = unit
    size = float(task.fingerprint.get("size") or 0)
    if part is None:
        return size
    return size * (part.span.end - part.span.start) / max(1, spans[task.input])


class _FileScorer:
    """A Ray actor (or the driver's own scorer): one loaded model, scoring whole files or
    ranges."""

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

    def score_unit(self, task: Any, part: Any, model_ref: list[Any]) -> dict[str, Any]:
        """Score a whole file (``part`` None) or one range of it."""
        from lstm_sentiment.runtime.jobs import score_range, score_task

        model = self._load(model_ref)
        if part is None:
            return score_task(task, self.read, self.batch, self.output_format, model)
        return score_range(task, part, self.read, self.batch, self.output_format, model)


class _Driver:
    """The units this process scores itself, in a thread, taken from the same queue as the
    workers' (left end first, as they are); it plans them too, so that scoring starts as
    soon as the planning read is done, Ray or no Ray."""

    def __init__(self, model_path: Path, batch: BatchOptions, options: JobOptions) -> None:
        self.model_path, self.batch, self.options = model_path, batch, options
        self.lock = threading.Lock()
        self.queue: deque[Unit] = deque()
        self.planned = threading.Event()
        self.units: list[Unit] = []
        self.settled: list[dict[str, Any]] = []
        self.results: SimpleQueue[tuple[Unit, dict[str, Any]]] = SimpleQueue()
        self.failure: BaseException | None = None
        self.stopping = False
        self.busy = True  # until it finds the queue empty
        # a daemon: an interrupted job does not wait for the unit in hand
        self.thread = threading.Thread(target=self._run, name="lstm-sentiment-driver", daemon=True)

    def start(self, plan: Callable[[], tuple[list[Unit], list[dict[str, Any]]]]) -> None:
        self.plan = plan
        self.thread.start()

    def stop(self) -> None:
        self.stopping = True

    def take(self) -> Unit | None:
        with self.lock:
            return self.queue.popleft() if self.queue and not self.stopping else None

    def finished(self) -> list[tuple[Unit, dict[str, Any]]]:
        """The units it finished since last asked, with their results."""
        done = []
        while not self.results.empty():
            done.append(self.results.get())
        return done

    def pending(self) -> bool:
        return not self.results.empty()

    def check(self) -> None:
        """Raise what stopped it, in the caller's thread."""
        if self.failure is not None:
            raise self.failure

    def _run(self) -> None:
        try:
            from lstm_sentiment.runtime.model import SentimentModel

            # the model loads while the planning read (another thread) goes on
            scorer = _FileScorer(self.model_path.name, self.batch, self.options.read,
                                 self.options.output_format)  # fmt: skip
            scorer.model = SentimentModel.load(self.model_path, "cpu", 1)
            self.units, self.settled = self.plan()
            self.queue.extend(self.units)
            self.planned.set()
            while (unit := self.take()) is not None:
                self.results.put((unit, scorer.score_unit(unit[0], unit[1], [])))
        except BaseException as error:  # handed to the main thread, which raises it
            self.failure = error
        finally:
            self.busy = False
            self.planned.set()


def _start_actors(
    ray: Any, plan: WorkerPlan, count: int, model_path: Path, options: JobOptions
) -> list[Any]:
    """``count`` workers of the plan, each to load the model on its first call."""
    worker_class = ray.remote(
        num_cpus=plan.cpus_per_worker,
        num_gpus=plan.gpus_per_worker,
        max_restarts=-1,
        max_task_retries=RETRIES,
    )(_FileScorer)
    batch = dataclasses.replace(
        options.batch, provider=plan.provider, threads=1, workers=plan.cpus_per_worker
    )
    return [
        worker_class.remote(model_path.name, batch, options.read, options.output_format)
        for _ in range(count)
    ]


def _result(ray: Any, ref: Any, part: Range | None) -> dict[str, Any]:
    """A finished call's result, or a failed one when its worker died more than RETRIES
    times."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else ""
        result = {"status": "failed", "error": f"{type(error).__name__}: {first}"}
        return part.as_dict() | result if part is not None else result


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
