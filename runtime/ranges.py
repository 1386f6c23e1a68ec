"""One big file as ranges that several Ray workers score at once, joined into one output.

    from lstm_sentiment.runtime.ranges import plan_ranges
    ranges = plan_ranges(InputSpec("big.csv"), range_bytes=32 << 20, window=8192, workers=4)

``scorer batch big.csv -o out/ --engine ray`` splits a file larger than ``--range-mb`` so
that every worker gets a part of it; the output is byte for byte what ``scorer batch
big.csv`` writes:

- The file is read once here, by the same reader that scores it, to find where records
  end: a CSV record with quoted newlines is never cut, and each range knows how many
  records and physical lines come before it, so its row numbers, line numbers and ids are
  the whole file's.
- A range starts where a window of the whole file's schedule starts
  (``batch.window_sizes``) and goes on with the same window sizes, so its batches are the
  whole file's: int8 scores, which depend a little on their batch, come out the same.
- Each range writes a part file (a CSV header only in the first), in a folder beside the
  output whose name starts with ``_`` (so that a later job never reads it as an input);
  when all are done they are joined in order into the output and the folder goes. A job
  run again redoes only the ranges whose part is missing (``runtime/jobs.py``).

Split: plain local CSV, TSV, JSON Lines and text files in an encoding whose newline is the
byte 0x0a (UTF-8 and the 8-bit ones), and Parquet files (by rows), into local CSV, TSV or
JSON Lines. Not split (one task, as before): compressed files (a gzip stream cannot be
entered in the middle), remote inputs or outputs, UTF-16 and UTF-32, Parquet output, and
JSON Lines with
``--keep-columns all`` (their fields come from a pass over the whole file).
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from lstm_sentiment.runtime.atomic import atomic_output
from lstm_sentiment.runtime.batch import window_sizes
from lstm_sentiment.runtime.errors import InputError
from lstm_sentiment.runtime.readers import (
    BLANK_LINE,
    InputSpec,
    ReadOptions,
    Span,
    is_compressed,
    mark_length,
    open_input,
    wide_encoding,
)

DEFAULT_RANGE_MB = 32.0
_SPLIT_INPUTS = ("csv", "tsv", "jsonl", "text", "parquet")
_SPLIT_OUTPUTS = ("csv", "tsv", "jsonl")


@dataclass(frozen=True)
class Range:
    """A range of a file: its span and the size of its first window."""

    index: int
    span: Span
    first_window: int

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, **asdict(self.span), "first_window": self.first_window}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Range:
        span = Span(int(data["start"]), int(data["end"]), int(data["rows"]), int(data["lines"]))
        return cls(int(data["index"]), span, int(data["first_window"]))


def why_not_split(
    path: str, output: str, read: ReadOptions, output_format: str, range_bytes: int
) -> str:
    """Why ``path`` is scored into ``output`` as one task ("" when it can be split)."""
    if any("://" in p and not p.startswith("file://") for p in (path, output)):
        return "a remote file"
    local = Path(path.removeprefix("file://"))
    try:
        size = local.stat().st_size
        with local.open("rb") as f:
            head = f.read(8)
    except OSError:
        return "cannot be read"  # scoring it says why, in its manifest entry
    spec = InputSpec(str(local), read)
    try:
        fmt = spec.resolved_format()
        wide = fmt != "parquet" and wide_encoding(read.encoding, head)
    except InputError:  # an unknown format or encoding: scoring it says so
        return "cannot be read as given"
    reasons = {
        f"{fmt} input": fmt not in _SPLIT_INPUTS,
        f"{output_format} output": output_format not in _SPLIT_OUTPUTS,
        "compressed": is_compressed(head),
        "a UTF-16 or UTF-32 file": wide,
        "JSON Lines with --keep-columns all": fmt == "jsonl" and read.keep_columns == "all",
        f"{size:,} bytes, not over the range size": size <= range_bytes,
    }
    return next((reason for reason, applies in reasons.items() if applies), "")


PER_WORKER = 16


def range_count(size: int, range_bytes: int, workers: int = 1) -> int:
    """How many ranges a file of ``size`` bytes (or rows) gets: about one per
    ``range_bytes`` and, for more than one worker, at least ``PER_WORKER`` a worker, rounded
    up to a multiple of ``workers`` so that each worker gets the same share (a remainder
    would leave the others idle while one finishes it). Workers rarely start together (a
    job's own process scores while Ray starts the others, a node is slower): many parts
    each let the queue even them out, where one share each would wait for the last to
    start, and the workers handed the last (shortest) parts end close together. A file with
    fewer window edges gets fewer ranges (``Edges.ranges``): windows double in size up to
    the largest, so the early, small ones are what is left to hand out at the end."""
    count = max(1, round(size / max(1, range_bytes)))
    if workers > 1:
        count = max(count, PER_WORKER * workers)
    return -(-count // max(1, workers)) * max(1, workers)


def plan_ranges(spec: InputSpec, range_bytes: int, window: int, workers: int = 1) -> list[Range]:
    """The ranges of ``spec``'s file: ``range_count`` of them, as equal as the window edges
    allow (each cut is the window edge nearest an equal share), each starting where a window
    of ``window`` starts. Raises ``InputError`` where the file cannot be read."""
    return window_edges(spec, window).ranges(range_bytes, workers)


@dataclass(frozen=True)
class Edges:
    """Where a file's ranges may be cut: after each window of its schedule (offset, records
    and physical lines before the cut), found by one read of the file."""

    first: tuple[int, int, int]  # where the records begin
    end: int  # the file's size (rows, for Parquet)
    cuts: list[tuple[int, int, int]]
    window: int
    size: int  # the bytes the ranges share

    def ranges(self, range_bytes: int, workers: int = 1) -> list[Range]:
        count = range_count(self.size, range_bytes, workers)
        span = self.end - self.first[0]
        chooser = _Cuts([self.first[0] + span * k // count for k in range(1, count)])
        for cut in self.cuts:
            chooser.offer(cut[0], cut)
        return _ranges(chooser.chosen(), self.first, self.end, self.window)


def window_edges(spec: InputSpec, window: int) -> Edges:
    """Read ``spec``'s file once for ``Edges``; raises ``InputError`` where it cannot be
    read."""
    path = Path(spec.path.removeprefix("file://"))
    if spec.resolved_format() == "parquet":
        return _parquet_edges(path, window)
    edges = _edges(window)
    cuts = []
    with open_input(spec) as source:
        if source.format in ("csv", "tsv"):
            start, lines = source.header_end
        else:
            with path.open("rb") as f:
                start, lines = mark_length(f.read(4)), 0
        rows, size, first = 0, path.stat().st_size, (start, 0, lines)
        edge = next(edges)
        for record in source:
            rows += 1
            if rows < edge:
                continue
            while edge <= rows:
                edge = next(edges)
            at, lines = source.position(record)
            if record.error != BLANK_LINE and at < size:
                cuts.append((at, rows, lines))
    return Edges(first, size, cuts, window, size - start)


class _Cuts:
    """Picks, for each target position, the nearest candidate offered (in order)."""

    def __init__(self, targets: list[int]) -> None:
        self.targets, self.picked = targets, []
        self.previous: tuple[int, Any] | None = None

    def offer(self, position: int, cut: Any) -> None:
        while self.targets and position >= self.targets[0]:
            target = self.targets.pop(0)
            before = self.previous
            if before is not None and target - before[0] < position - target:
                self._pick(before)
            else:
                self._pick((position, cut))
        self.previous = (position, cut)

    def _pick(self, candidate: tuple[int, Any]) -> None:
        if not self.picked or candidate[0] > self.picked[-1][0]:  # never an empty range
            self.picked.append(candidate)

    def chosen(self) -> list[Any]:
        return [cut for _, cut in self.picked]


def _ranges(
    cuts: list[tuple[int, int, int]], first: tuple[int, int, int], end: int, window: int
) -> list[Range]:
    """Ranges from ``first`` (offset, rows, lines) through each cut to ``end``."""
    bounds = [first, *cuts]
    ranges = []
    for index, (at, rows, lines) in enumerate(bounds):
        stop = bounds[index + 1][0] if index + 1 < len(bounds) else end
        ranges.append(Range(index, Span(at, stop, rows, lines), window_at(window, rows)))
    return ranges


def window_at(window: int, rows: int) -> int:
    """The size of the window that starts after ``rows`` records (a window edge)."""
    done = 0
    for size in window_sizes(window):
        if done >= rows:
            return size
        done += size
    raise AssertionError("unreachable")


def _edges(window: int) -> Any:
    done = 0
    for size in window_sizes(window):
        done += size
        yield done


def _parquet_edges(path: Path, window: int) -> Edges:
    import pyarrow.parquet as pq

    total = pq.ParquetFile(path).metadata.num_rows
    cuts = []
    for edge in _edges(window):
        if edge >= total:
            break
        cuts.append((edge, edge, 0))
    return Edges((0, 0, 0), total, cuts, window, path.stat().st_size)


def parts_folder(output: str) -> str:
    """Where a split file's parts go: beside its output, in a folder that jobs skip."""
    if "://" in output:
        parent, name = output.rsplit("/", 1)
        return f"{parent}/_{name}.parts"
    where = PurePosixPath(output)
    return str(Path(where.parent) / f"_{where.name}.parts")


def part_path(output: str, index: int) -> str:
    suffix = PurePosixPath(output).suffix
    return f"{parts_folder(output)}/{index:06d}{suffix}"


def join_parts(output: str, count: int) -> None:
    """The parts of ``output``, in order, joined into it (atomically); then their folder
    goes."""
    target = Path(output)
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target, text=False) as out:
        for index in range(count):
            with open(part_path(output, index), "rb") as part:
                shutil.copyfileobj(part, out, 1 << 20)
    shutil.rmtree(parts_folder(output), ignore_errors=True)
