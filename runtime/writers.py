"""Write scored records as CSV, JSON Lines or Parquet, atomically (or to stdout).

Every output record has ``id``, ``score`` (P(positive), empty/null on error), ``label``
(``positive``/``negative`` by the model's threshold, empty/null on error) and ``error``
(empty when scored). A file output appears at its path only when the run succeeds.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from lstm_sentiment.runtime.atomic import atomic_output
from lstm_sentiment.runtime.errors import LstmSentimentError

OUTPUT_FORMATS = ("csv", "tsv", "jsonl", "parquet")
COLUMNS = ("id", "score", "label", "error")
_SUFFIXES = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}


class OutputError(LstmSentimentError):
    """The output cannot be written where or how it was asked for."""


def output_format(path: str, requested: str | None) -> str:
    if requested:
        if requested not in OUTPUT_FORMATS:
            raise OutputError(
                f"unknown output format {requested!r}; use {', '.join(OUTPUT_FORMATS)}"
            )
        return requested
    if path == "-":
        return "csv"
    if Path(path).is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    suffix = Path(path).suffix.lower()
    if suffix not in _SUFFIXES:
        raise OutputError(f"cannot tell the output format of {path}; pass --output-format")
    return _SUFFIXES[suffix]


class Writer:
    """Appends rows of (id, score, label, error); ``score``/``label`` are None on error."""

    def write(self, rows: Sequence[tuple[Any, float | None, str | None, str]]) -> None:
        raise NotImplementedError

    def finish(self) -> None:
        """Called once every row is written (a run that fails never gets here)."""


class _CsvWriter(Writer):
    def __init__(self, out: IO[str], delimiter: str) -> None:
        self.writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self.header_written = False

    def _header(self) -> None:
        # Written with the first rows, not before: a run that fails before its first record
        # leaves stdout empty.
        if not self.header_written:
            self.writer.writerow(COLUMNS)
            self.header_written = True

    def finish(self) -> None:
        self._header()  # a header-only input gives a header-only output

    def write(self, rows: Sequence[tuple[Any, float | None, str | None, str]]) -> None:
        self._header()
        self.writer.writerows(
            (ident, "" if score is None else f"{score:.6f}", label or "", error)
            for ident, score, label, error in rows
        )


class _JsonlWriter(Writer):
    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(self, rows: Sequence[tuple[Any, float | None, str | None, str]]) -> None:
        for ident, score, label, error in rows:
            record = {
                "id": ident,
                "score": None if score is None else round(float(score), 6),
                "label": label,
                "error": error,
            }
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")


class _ParquetWriter(Writer):
    def __init__(self, out: IO[bytes]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa = pa
        self.schema = pa.schema(
            [
                ("id", pa.string()),
                ("score", pa.float32()),
                ("label", pa.string()),
                ("error", pa.string()),
            ]
        )
        self.writer = pq.ParquetWriter(out, self.schema)

    def write(self, rows: Sequence[tuple[Any, float | None, str | None, str]]) -> None:
        if not rows:
            return
        columns = list(zip(*rows, strict=True))
        table = self.pa.table(
            [
                [None if i is None else str(i) for i in columns[0]],
                list(columns[1]),
                list(columns[2]),
                list(columns[3]),
            ],
            schema=self.schema,
        )
        self.writer.write_table(table)

    def close(self) -> None:
        self.writer.close()


@contextlib.contextmanager
def open_output(path: str, fmt: str) -> Iterator[Writer]:
    """A writer for ``path`` (``-`` is stdout); a file appears only if the block succeeds."""
    if fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise OutputError(
                "writing Parquet needs pyarrow: pip install 'lstm-sentiment[parquet]'"
            ) from None
        if path == "-":
            raise OutputError("Parquet cannot be written to stdout; pass -o FILE.parquet")
    if path == "-":
        out = sys.stdout
        writer = _text_writer(out, fmt)
        yield writer
        writer.finish()
        out.flush()
        return
    target = Path(path)
    if target.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder")
    try:
        context = atomic_output(target, text=fmt != "parquet", encoding="utf-8")
        handle = context.__enter__()
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None
    try:
        if fmt == "parquet":
            writer = _ParquetWriter(handle)
            yield writer
            writer.close()
        else:
            if hasattr(handle, "reconfigure"):
                # A lone surrogate from a JSON input must not crash the writer at the end.
                handle.reconfigure(errors="backslashreplace")
            text_writer = _text_writer(handle, fmt)
            yield text_writer
            text_writer.finish()
    except BaseException:
        context.__exit__(*sys.exc_info())
        raise
    try:
        context.__exit__(None, None, None)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None


def _text_writer(out: IO[str], fmt: str) -> Writer:
    if fmt == "jsonl":
        return _JsonlWriter(out)
    return _CsvWriter(out, "\t" if fmt == "tsv" else ",")
