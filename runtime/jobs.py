"""Score many files into an output folder: the job behind ``scorer batch IN... -o OUT/``.

    from lstm_sentiment.runtime.jobs import JobOptions, run_job
    summary = run_job(["reviews/", "more/*.jsonl"], "scored/", JobOptions(model="int8"))

Inputs are files, folders (walked; names starting with ``.`` or ``_`` are skipped, as Ray
skips them) and glob patterns, local or any fsspec URI (``s3://``, ``gs://``, ``file://``).
Each input file gets one output file, ``OUT/<its path below the folder or pattern it was
found by>``, with the data extension (and any compression extension) replaced by the output
format's: ``reviews/2026/a.csv.gz`` → ``scored/2026/a.csv``. Each file is scored by
``batch.score_file``, so every output holds exactly one record per input record, in order.

``OUT/_manifest.json`` lists every input with its output, counts, status and error, the
model's variant and SHA-256, and times; it is rewritten after every finished file. Run
again, the job skips the inputs whose manifest entry is done with the same model and the
same input size and modification time, and whose output exists; the rest are redone. Outputs
appear only complete: a local file is renamed into place, an object-store object is uploaded
whole (a PUT is atomic). A file that cannot be read fails alone; it is named in the manifest.
The ``local`` engine scores the files one after another in this process; ``ray`` spreads
them over a Ray cluster (``runtime/ray_engine.py``), with the same per-file code.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from lstm_sentiment.runtime.atomic import atomic_output
from lstm_sentiment.runtime.batch import BatchOptions, Summary, parallelism, score_file
from lstm_sentiment.runtime.digest import file_sha256
from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.formats import (
    FORMATS,
    OUTPUT_FORMATS,
    output_format_of,
    strip_data_suffix,
)
from lstm_sentiment.runtime.readers import InputSpec, ReadOptions

if TYPE_CHECKING:
    from lstm_sentiment.runtime.model import SentimentModel
    from lstm_sentiment.runtime.ranges import Range

MANIFEST = "_manifest.json"


class Engine(str, Enum):
    """Where a job of many files runs: this process, or a Ray cluster (``ray_engine.py``)."""

    LOCAL = "local"
    RAY = "ray"


class JobError(LstmSentimentError):
    """The inputs or the output folder of a job cannot be used; nothing was scored."""


@dataclass
class JobOptions:
    batch: BatchOptions = field(default_factory=BatchOptions)
    read: ReadOptions = field(default_factory=ReadOptions)  # how every input is read
    output_format: str = "csv"
    resume: bool = True  # skip inputs the manifest says are done (same model, same input)
    engine: str = "local"  # or "ray"
    address: str | None = None  # Ray: "auto", "ray://HOST:PORT"; None starts a local one
    range_mb: float = 32.0  # Ray: a file over this many MB is split into ranges (ranges.py)

    @property
    def range_bytes(self) -> int:
        return int(self.range_mb * (1 << 20))


@dataclass
class Task:
    """One input file and where its scores go."""

    input: str  # a local path or a URI
    output: str  # a local path or a URI
    fingerprint: dict[str, Any]  # size and modification time, to tell a changed input


@dataclass
class JobSummary:
    entries: list[dict[str, Any]]
    manifest: str
    seconds: float

    def count(self, status: str) -> int:
        return sum(1 for e in self.entries if e["status"] == status)

    @property
    def errors(self) -> int:
        return sum(e.get("errors", 0) for e in self.entries)

    @property
    def records(self) -> int:
        return sum(e.get("records", 0) for e in self.entries if e["status"] != "failed")


# -- the entry point: one file, or a job ----------------------------------------------------------


def score(
    inputs: list[str],
    output: str | None,
    options: JobOptions,
    on_done: Callable[[dict[str, Any]], None] = lambda entry: None,
    progress: Callable[[int, int | None], None] | None = None,
) -> Summary | JobSummary:
    """Score ``inputs`` as ``scorer batch`` does: one file (or stdin, ``-``) into ``output``
    (default: ``NAME.scores.csv`` here; ``-`` is stdout) gives a ``Summary``; several inputs,
    a folder, a pattern, a URI, an output folder or the Ray engine make a job, scored into the
    output folder, which gives a ``JobSummary``."""
    if not is_job(inputs, output, options.engine):
        source = inputs[0]
        target = output or default_output(source, options.batch.output_format)
        _refuse_overwriting_the_input(source, target)
        return score_file(InputSpec(source, options.read), target, options.batch, progress=progress)
    if output is None or output == "-":
        raise JobError(
            "several inputs (or a folder, a pattern, --engine ray) need -o OUTPUT-FOLDER"
        )
    if output_format_of(output) is not None and not Path(output).is_dir():
        raise JobError(
            f"-o {output} names a file, but several inputs (or a folder, a pattern, --engine "
            "ray) are scored into an output folder, one file each: pass -o FOLDER/"
        )
    if "-" in inputs:
        raise JobError("stdin (-) can only be scored alone")
    return run_job(inputs, output, options, on_done)


def is_job(inputs: list[str], output: str | None, engine: str = "local") -> bool:
    """Several files (or a folder, a pattern, a URI, an output folder, the Ray engine) make a
    job; one file or stdin does not."""
    if len(inputs) != 1 or engine != "local":
        return True
    only = inputs[0]
    if only == "-":
        return False
    folder_out = output is not None and (output.endswith("/") or Path(output).is_dir())
    return "://" in only or any(c in only for c in "*?[") or Path(only).is_dir() or folder_out


def default_output(input_path: str, output_format: str | None) -> str:
    """Where ``scorer batch INPUT`` writes without ``-o``: ``NAME.scores.csv`` in the current
    folder (stdin: stdout)."""
    if input_path == "-":
        return "-"
    return f"{Path(input_path).stem}.scores{FORMATS[output_format or 'csv'].suffix}"


def _refuse_overwriting_the_input(source: str, target: str) -> None:
    same = source != "-" and target != "-" and Path(target).exists()
    if same and Path(target).resolve() == Path(source).resolve():
        raise JobError(f"{target} is the input: scores never replace the reviews; pass -o FILE")


# -- planning: inputs to tasks ------------------------------------------------------------------


def plan(inputs: list[str], out_dir: str, output_format: str) -> list[Task]:
    """Expand ``inputs`` into tasks with their output names; refuse clashes before any work."""
    if output_format not in OUTPUT_FORMATS:
        raise JobError(f"unknown output format {output_format!r}; use {', '.join(OUTPUT_FORMATS)}")
    tasks: list[Task] = []
    outputs: dict[str, str] = {}
    for given in inputs:
        fs, _ = _fs(given)
        found = list(_expand(given, out_dir))
        if not found:
            raise JobError(f"{given}: no input files found there")
        for path, relative, info in found:
            source = _unfs(given, fs, path)
            name = _output_name(relative, output_format)
            target = _join(out_dir, name)
            if target in outputs:
                raise JobError(
                    f"{outputs[target]} and {source} would both be scored into {target}: "
                    "rename one, or score them in separate jobs"
                )
            outputs[target] = source
            fingerprint = {"size": info.get("size"), "modified": _modified(info)}
            tasks.append(Task(source, target, fingerprint))
    for task in tasks:
        if _same_place(task.output, list(outputs.values())):
            raise JobError(f"{task.output} is also an input: an output never replaces an input")
    return tasks


def _expand(given: str, out_dir: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path in its filesystem, path relative to what found it, info) for every file."""
    fs, path = _fs(given)
    out_fs, out_path = _fs(out_dir)
    excluded = out_path.rstrip("/") + "/" if type(fs) is type(out_fs) else None
    if any(c in path for c in "*?["):
        root = path[: min(path.index(c) for c in "*?[" if c in path)].rsplit("/", 1)[0]
        for found, info in sorted(fs.glob(path, detail=True).items()):
            if info["type"] == "file" and not _skipped(found, root, excluded):
                yield found, found[len(root) :].lstrip("/"), info
        return
    if not fs.exists(path):
        raise JobError(f"{given}: no such file or folder")
    if fs.isdir(path):
        root = path.rstrip("/")
        for found, info in sorted(fs.find(path, detail=True).items()):
            if not _skipped(found, root, excluded):
                yield found, found[len(root) :].lstrip("/"), info
        return
    yield path, PurePosixPath(path).name, fs.info(path)


def _skipped(path: str, root: str, excluded: str | None) -> bool:
    """Hidden and ``_`` names below ``root`` (Ray's rule), and the job's own output folder."""
    if excluded and (path + "/").startswith(excluded):
        return True
    parts = PurePosixPath(path[len(root) :].lstrip("/")).parts
    return any(part.startswith((".", "_")) for part in parts)


def _output_name(relative: str, output_format: str) -> str:
    return strip_data_suffix(relative) + FORMATS[output_format].suffix


# -- running --------------------------------------------------------------------------------------


def run_job(
    inputs: list[str],
    out_dir: str,
    options: JobOptions,
    on_done: Callable[[dict[str, Any]], None] = lambda entry: None,
) -> JobSummary:
    """Score every input file into ``out_dir``; see the module docstring."""
    started = time.perf_counter()
    tasks = plan(inputs, out_dir, options.output_format)
    checked, batch = _checked_model(options)
    model_path = checked.path
    variant = str(checked.metadata.get("variant", ""))
    model = {"path": str(model_path), "sha256": file_sha256(model_path), "variant": variant}
    manifest = Manifest(_join(out_dir, MANIFEST), model, options.engine)
    todo = [t for t in tasks if not (options.resume and manifest.done(t))]
    for task in tasks:
        if task not in todo:
            entry = manifest.entries[task.input] | {"status": "done", "resumed": True}
            manifest.record(entry)
            on_done(entry)
    manifest.save()
    if options.engine == "ray":
        from lstm_sentiment.runtime.ray_engine import run_on_ray

        earlier = {t.input: manifest.ranges_done(t) for t in todo} if options.resume else {}
        results = run_on_ray(todo, options, model_path, earlier)
    else:
        results = (score_task(t, options.read, batch, options.output_format, checked) for t in todo)
    for entry in results:
        manifest.record(entry)
        manifest.save()
        if entry["status"] != "partial":  # a split file reports each range as it is done
            on_done(entry)
    return JobSummary(
        [manifest.entries[t.input] for t in tasks],
        manifest.path,
        time.perf_counter() - started,
    )


def _checked_model(options: JobOptions) -> tuple[SentimentModel, BatchOptions]:
    """The job's model, loaded (and so checked) before any work, and the batch options a local
    job scores with: a local job uses this very session, Ray workers load their own."""
    from lstm_sentiment.runtime.model import SentimentModel

    if options.engine == "ray":
        return SentimentModel.load(options.batch.model, "cpu"), options.batch
    threads, workers = parallelism(options.batch.provider, options.batch.threads, None)
    batch = options.batch
    model = SentimentModel.load(batch.model, batch.provider, threads, batch.allow_cpu_nodes)
    return model, dataclasses.replace(options.batch, workers=options.batch.workers or workers)


def score_task(
    task: Task,
    read: ReadOptions,
    batch: BatchOptions,
    output_format: str,
    model: SentimentModel,
) -> dict[str, Any]:
    """Score one input file into its output; a bad input gives a failed entry, not an error.

    Remote inputs are copied to a local temporary file first and remote outputs are written
    locally and uploaded whole, so that every reader and writer works on any store."""
    started = time.perf_counter()
    entry: dict[str, Any] = {"input": task.input, "output": task.output, **task.fingerprint}
    batch = dataclasses.replace(batch, output_format=output_format)
    try:
        with tempfile.TemporaryDirectory(prefix="lstm-sentiment-") as work:
            local_in = _local_copy(task.input, Path(work))
            remote_out = _is_remote(task.output)
            local_out = str(Path(work) / Path(task.output).name) if remote_out else task.output
            if not remote_out:
                Path(local_out).parent.mkdir(parents=True, exist_ok=True)
            summary = score_file(InputSpec(local_in, read), local_out, batch, model)
            if remote_out:
                fs, path = _fs(task.output)
                fs.put_file(local_out, path)
    except LstmSentimentError as error:
        entry |= {"status": "failed", "error": str(error)}
    except OSError as error:
        entry |= {"status": "failed", "error": f"{type(error).__name__}: {error}"}
    else:
        entry |= _counts(summary) | {"status": "done"}
    entry["seconds"] = round(time.perf_counter() - started, 3)
    entry["finished"] = _now()
    entry["worker"] = f"{os.uname().nodename}:{os.getpid()}"
    return entry


def score_range(
    task: Task,
    part: Range,
    read: ReadOptions,
    batch: BatchOptions,
    output_format: str,
    model: SentimentModel,
) -> dict[str, Any]:
    """Score one range of a split file into its part file (``runtime/ranges.py``); a range
    that cannot be read gives a failed result naming it, not an error."""
    from lstm_sentiment.runtime.ranges import part_path

    started = time.perf_counter()
    result: dict[str, Any] = part.as_dict()
    batch = dataclasses.replace(batch, output_format=output_format)
    target = part_path(task.output, part.index)
    try:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        spec = InputSpec(task.input.removeprefix("file://"), read, part.span)
        summary = score_file(
            spec, target, batch, model, first_window=part.first_window, header=part.index == 0
        )
    except (LstmSentimentError, OSError) as error:
        what = f"{type(error).__name__}: {error}" if isinstance(error, OSError) else str(error)
        result |= {"status": "failed", "error": what}
    else:
        result |= _counts(summary) | {"status": "done", "notes": summary.notes}
    result["seconds"] = round(time.perf_counter() - started, 3)
    result["worker"] = f"{os.uname().nodename}:{os.getpid()}"
    return result


def split_entry(task: Task, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest entry of a split file from its ranges' results (in order; None where a
    range has not finished): done once every range is, when the parts are joined."""
    from lstm_sentiment.runtime.ranges import join_parts

    entry: dict[str, Any] = {"input": task.input, "output": task.output, **task.fingerprint}
    entry["ranges"] = results
    finished = [r for r in results if r.get("status") in ("done", "failed")]
    failed = [r for r in finished if r["status"] == "failed"]
    if failed:
        first = failed[0]
        where = f"range {first['index'] + 1} of {len(results)} (bytes or rows {first['start']:,}"
        entry |= {"status": "failed", "error": f"{where} to {first['end']:,}): {first['error']}"}
    elif len(finished) < len(results):
        entry["status"] = "partial"
    else:
        try:
            join_parts(task.output, len(results))
        except OSError as error:
            entry |= {"status": "failed", "error": f"joining the ranges: {error}"}
        else:
            entry |= {
                "status": "done",
                "records": sum(r["records"] for r in results),
                "scored": sum(r["scored"] for r in results),
                "errors": sum(r["errors"] for r in results),
                "first_errors": [e for r in results for e in r["first_errors"]][:5],
                "provider": results[0]["provider"],
            }
    entry["seconds"] = round(sum(r.get("seconds", 0) for r in finished), 3)
    entry["finished"] = _now()
    return entry


def _counts(summary: Summary) -> dict[str, Any]:
    return {
        "records": summary.rows,
        "scored": summary.scored,
        "errors": summary.errors,
        "first_errors": summary.first_errors,
        "provider": summary.provider,
    }


# -- the manifest ---------------------------------------------------------------------------------


class Manifest:
    """The job's record of every input, kept in ``OUT/_manifest.json``."""

    def __init__(self, path: str, model: dict[str, Any], engine: str) -> None:
        self.path, self.model, self.engine = path, model, engine
        self.started = _now()
        self.entries: dict[str, dict[str, Any]] = {}
        self.previous_model: dict[str, Any] = {}
        fs, where = _fs(path)
        if fs.exists(where):
            try:
                previous = json.loads(fs.cat_file(where))
                self.entries = {e["input"]: e for e in previous.get("inputs", [])}
                self.previous_model = previous.get("model", {})
            except (ValueError, KeyError, TypeError):
                self.entries = {}  # a damaged manifest: every input is redone

    def done(self, task: Task) -> bool:
        entry = self.entries.get(task.input)
        if not entry or entry.get("status") != "done":
            return False
        if self.previous_model.get("sha256") != self.model["sha256"]:
            return False
        if any(entry.get(k) != v for k, v in task.fingerprint.items()):
            return False
        if entry.get("output") != task.output:
            return False
        fs, path = _fs(task.output)
        return bool(fs.exists(path))

    def ranges_done(self, task: Task) -> list[dict[str, Any]] | None:
        """The ranges an earlier run of this job planned for ``task``'s file, each with its
        result, when the same model scored the same file into the same output; else None
        (the file is planned afresh)."""
        entry = self.entries.get(task.input)
        if not entry or not isinstance(entry.get("ranges"), list):
            return None
        if self.previous_model.get("sha256") != self.model["sha256"]:
            return None
        if entry.get("output") != task.output:
            return None
        if any(entry.get(k) != v for k, v in task.fingerprint.items()):
            return None
        return entry["ranges"]

    def record(self, entry: dict[str, Any]) -> None:
        self.entries[entry["input"]] = entry

    def save(self) -> None:
        text = json.dumps(
            {
                "model": self.model,
                "engine": self.engine,
                "started": self.started,
                "updated": _now(),
                "inputs": list(self.entries.values()),
            },
            indent=2,
            default=str,
        )
        if _is_remote(self.path):
            fs, path = _fs(self.path)
            fs.pipe_file(path, text.encode())
            return
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(Path(self.path), text=True) as out:
            out.write(text + "\n")


# -- files and object stores ----------------------------------------------------------------------


def _fs(location: str) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        if _is_remote(location):
            raise JobError(
                f"{location}: object-store paths need fsspec: pip install 'lstm-sentiment[ray]' "
                "(and s3fs or gcsfs for s3:// or gs://)"
            ) from None
        return _LocalFs(), str(Path(location).absolute())
    try:
        return url_to_fs(location)
    except (ImportError, ValueError) as error:
        raise JobError(f"{location}: {error}") from None


def _is_remote(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def _unfs(given: str, fs: Any, path: str) -> str:
    """A path found by ``fs`` as the user would write it (the URI scheme kept)."""
    if _is_remote(given):
        return fs.unstrip_protocol(path)
    return path


def _join(base: str, name: str) -> str:
    return base.rstrip("/") + "/" + name if "://" in base else str(Path(base) / name)


def _same_place(output: str, inputs: list[str]) -> bool:
    if _is_remote(output):
        return output in inputs
    return any(not _is_remote(i) and Path(i).resolve() == Path(output).resolve() for i in inputs)


def _local_copy(location: str, work: Path) -> str:
    if not _is_remote(location):
        return location.removeprefix("file://")
    fs, path = _fs(location)
    local = work / ("input-" + PurePosixPath(path).name)
    fs.get_file(path, str(local))
    return str(local)


def _modified(info: dict[str, Any]) -> Any:
    for key in ("mtime", "LastModified", "last_modified", "updated", "ETag"):
        if info.get(key) is not None:
            return str(info[key])
    return None


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


class _LocalFs:
    """The few filesystem calls a job makes, for installs without fsspec (local paths)."""

    def exists(self, path: str) -> bool:
        return Path(path).exists()

    def isdir(self, path: str) -> bool:
        return Path(path).is_dir()

    def info(self, path: str) -> dict[str, Any]:
        stat = Path(path).stat()
        return {"type": "file", "size": stat.st_size, "mtime": stat.st_mtime}

    def find(self, path: str, detail: bool = True) -> dict[str, dict[str, Any]]:
        files = (p for p in Path(path).rglob("*") if p.is_file())
        return {str(p): self.info(str(p)) for p in files}

    def glob(self, pattern: str, detail: bool = True) -> dict[str, dict[str, Any]]:
        import glob

        return {p: self.info(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file()}

    def cat_file(self, path: str) -> bytes:
        return Path(path).read_bytes()
