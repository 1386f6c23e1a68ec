"""Write scored records as CSV, JSON Lines or Parquet, atomically (or to stdout).

Every output record has ``id``, ``score`` (P(positive), empty/null on error), ``label``
(``positive``/``negative`` by the model's threshold, empty/null on error) and ``error``
(empty when scored); with ``--explain``, ``explanation`` (the words that moved the score
most, each ``{word, start, end, effect}``: a list in JSON Lines and Parquet, that list as
JSON text in CSV and TSV, empty/null on error); then the input columns asked for with
``--keep-columns`` (renamed ``input_NAME`` where a name is one of those). A file output
appears at its path only when the run succeeds.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from lstm_sentiment.runtime.atomic import atomic_output
from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.formats import OUTPUT_FORMATS, output_format_of

COLUMNS = ("id", "score", "label", "error")
EXPLANATION = "explanation"


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
    found = output_format_of(path)
    if found is None:
        raise OutputError(f"cannot tell the output format of {path}; pass --output-format")
    return found


# (id, score, label, error, kept values, explanation: a list of word dicts or None)
Row = tuple[Any, float | None, str | None, str, tuple[Any, ...], list[dict[str, Any]] | None]


def kept_names(columns: Sequence[str]) -> list[str]:
    """Output names of kept input columns: ``input_NAME`` where NAME is an output column."""
    taken = (*COLUMNS, EXPLANATION)
    return [f"input_{name}" if name in taken else name for name in columns]


class Writer:
    """Appends rows of (id, score, label, error, kept values); ``score``/``label`` are None
    on error. ``kept`` names the kept input columns, fixed by the first write; ``types``
    gives the Arrow types of those the input typed (only the Parquet writer uses them)."""

    kept: list[str] | None = None
    explains: bool = False  # an explanation column after error

    def write(
        self, rows: Sequence[Row], kept: Sequence[str] = (), types: Mapping[str, Any] | None = None
    ) -> None:
        raise NotImplementedError

    def _columns(self, kept: Sequence[str]) -> list[str]:
        if self.kept is None:
            self.kept = kept_names(kept)
        return [*COLUMNS, *([EXPLANATION] if self.explains else []), *self.kept]

    @property
    def _fixed(self) -> int:
        return len(COLUMNS) + self.explains

    def _values(self, row: Row) -> tuple[Any, ...]:
        """A row's kept values, as many as the columns fixed by the first write."""
        width = len(self.kept or ())
        values = tuple(row[4][:width])
        return values + (None,) * (width - len(values))

    def finish(self) -> None:
        """Called once every row is written (a run that fails never gets here)."""


class _CsvWriter(Writer):
    def __init__(self, out: IO[str], delimiter: str) -> None:
        self.writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        self.header_written = False

    def _header(self, kept: Sequence[str] = ()) -> None:
        # Written with the first rows, not before: a run that fails before its first record
        # leaves stdout empty.
        columns = self._columns(kept)  # fixes the kept columns, with a header or without
        if not self.header_written:
            self.writer.writerow(columns)
            self.header_written = True

    def finish(self) -> None:
        self._header()  # a header-only input gives a header-only output

    def write(
        self, rows: Sequence[Row], kept: Sequence[str] = (), types: Mapping[str, Any] | None = None
    ) -> None:
        self._header(kept)
        for row in rows:
            ident, score, label, error, _, words = row
            shown = "" if score is None else f"{score:.6f}"
            extra = [_as_text(v) for v in self._values(row)]
            said = [_as_text(words)] if self.explains else []
            self.writer.writerow([ident, shown, label or "", error, *said, *extra])


class _JsonlWriter(Writer):
    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def write(
        self, rows: Sequence[Row], kept: Sequence[str] = (), types: Mapping[str, Any] | None = None
    ) -> None:
        names = self._columns(kept)[self._fixed :]
        for row in rows:
            ident, score, label, error, _, words = row
            record = {
                "id": ident,
                "score": None if score is None else round(float(score), 6),
                "label": label,
                "error": error,
                **({EXPLANATION: words} if self.explains else {}),
                **dict(zip(names, self._values(row), strict=True)),
            }
            self.out.write(json.dumps(record, ensure_ascii=False) + "\n")


class _ParquetWriter(Writer):
    def __init__(self, out: IO[bytes]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.pa, self.pq, self.out = pa, pq, out
        self.writer: Any = None

    def _open(self, kept: Sequence[str], types: Mapping[str, Any]) -> None:
        pa = self.pa
        fields = [
            ("id", pa.string()),
            ("score", pa.float32()),
            ("label", pa.string()),
            ("error", pa.string()),
        ]
        if self.explains:
            word = pa.struct(
                [("word", pa.string()), ("start", pa.int32()), ("end", pa.int32()),
                 ("effect", pa.float64())]
            )  # fmt: skip
            fields.append((EXPLANATION, pa.list_(word)))
        # A kept column keeps the type a Parquet input gave it; from other inputs it is text
        # (JSON for nested values): their values need not share one type down a column.
        self.typed = [name in types for name in kept]
        names = self._columns(kept)[self._fixed :]
        fields += [
            (name, types.get(source, pa.string())) for source, name in zip(kept, names, strict=True)
        ]
        self.schema = pa.schema(fields)
        self.writer = self.pq.ParquetWriter(self.out, self.schema)

    def write(
        self, rows: Sequence[Row], kept: Sequence[str] = (), types: Mapping[str, Any] | None = None
    ) -> None:
        if self.writer is None:
            self._open(kept, types or {})
        if not rows:
            return
        columns = list(zip(*(row[:4] for row in rows), strict=True))
        extra = list(zip(*(self._values(row) for row in rows), strict=True))
        table = self.pa.table(
            [
                [None if i is None else str(i) for i in columns[0]],
                list(columns[1]),
                list(columns[2]),
                list(columns[3]),
                *([[row[5] for row in rows]] if self.explains else []),
                *[
                    list(values) if typed else [None if v is None else _as_text(v) for v in values]
                    for values, typed in zip(extra, self.typed, strict=True)
                ],
            ],
            schema=self.schema,
        )
        self.writer.write_table(table)

    def close(self) -> None:
        if self.writer is None:
            self._open((), {})
        self.writer.close()


@contextlib.contextmanager
def open_output(
    path: str, fmt: str, explains: bool = False, header: bool = True
) -> Iterator[Writer]:
    """A writer for ``path`` (``-`` is stdout); a file appears only if the block succeeds.
    ``explains`` adds the explanation column; ``header=False`` leaves out a CSV's header
    (a range of a file after its first, ``runtime/ranges.py``)."""
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
        writer.explains = explains
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
            writer.explains = explains
            yield writer
            writer.close()
        else:
            if hasattr(handle, "reconfigure"):
                # A lone surrogate from a JSON input must not crash the writer at the end.
                handle.reconfigure(errors="backslashreplace")
            text_writer = _text_writer(handle, fmt)
            text_writer.explains = explains
            if not header and isinstance(text_writer, _CsvWriter):
                text_writer.header_written = True
            yield text_writer
            text_writer.finish()
    except BaseException:
        context.__exit__(*sys.exc_info())
        raise
    try:
        context.__exit__(None, None, None)
    except OSError as error:
        raise OutputError(f"cannot write {path}: {error.strerror or error}") from None


def _as_text(value: Any) -> str:
    """A kept value as text: strings as they are, None as empty, the rest as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)


def _text_writer(out: IO[str], fmt: str) -> Writer:
    if fmt == "jsonl":
        return _JsonlWriter(out)
    return _CsvWriter(out, "\t" if fmt == "tsv" else ",")
