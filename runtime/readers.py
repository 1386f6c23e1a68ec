"""Stream review records out of CSV/TSV, JSON Lines or Parquet files (or stdin).

Every input record becomes exactly one ``Record``, in input order: either with its text, or
with an ``error`` that says why it cannot be scored (wrong number of fields, empty review,
a JSON line that does not parse, ...). Problems that make the whole input unreadable (an
unterminated quote, bytes that are not in the file's encoding, a missing text column) raise
``InputError`` naming the line. Nothing is read whole: memory stays bounded by one record.

    with open_input(InputSpec("reviews.csv")) as source:
        for record in source:
            ...
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import csv
import gzip
import io
import json
import lzma
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lstm_sentiment.runtime.columns import (
    ID,
    KEPT,
    LABEL,
    TEXT,
    case_matches,
    is_usual,
    resolve_column,
)
from lstm_sentiment.runtime.errors import InputError
from lstm_sentiment.runtime.formats import INPUT_FORMATS, format_of

# Compressed inputs are read transparently; the codec is told by the file's first bytes.
_COMPRESSIONS = {b"\x1f\x8b": gzip.open, b"BZh": bz2.open, b"\xfd7zXZ\x00": lzma.open}
# The one column a plain-text input has (for --text-column and --keep-columns).
TEXT_FORMAT_COLUMN = "text"
# Delimiters other than the comma that a one-column header may be hiding.
_OTHER_DELIMITERS = {";": "';'", "\t": "tab ('\\t')", "|": "'|'"}
_DELIMITER_NAMES = {"\\t": "\t", "tab": "\t", "\\|": "|"}

# A CSV field may be as long as a review; Python's default cap (128 KiB) is far too small.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass
class Record:
    row: int  # 1-based number of the record among the data records
    line: int  # first physical line of the record (0 where lines do not apply)
    id: Any  # the id column's value, or the row number
    text: str | None
    error: str = ""
    label: Any = None  # the label column's value, when a label column was asked for
    kept: tuple[Any, ...] = ()  # values of the source's kept_columns (None where missing)

    @property
    def where(self) -> str:
        """Where the record is, in the words every message uses: its line, or its row."""
        return f"line {self.line}" if self.line else f"row {self.row}"


@dataclass(frozen=True)
class ReadOptions:
    """How to read an input, apart from where it is: the one set of reader options that
    ``scorer batch``, ``scorer compare``, jobs and own-data training share."""

    format: str | None = None  # formats.INPUT_FORMATS; default: by extension (stdin: csv)
    delimiter: str | None = None  # CSV only; default "," (tab for tsv)
    encoding: str = "utf-8"
    text_column: str | None = None
    id_column: str | None = None
    label_column: str | None = None  # read into Record.label (labelled files: compare, train)
    keep_columns: str | tuple[str, ...] | None = None  # "all", or names: into Record.kept


@dataclass(frozen=True)
class Span:
    """A part of an input file read alone (``runtime/ranges.py`` plans them): the records
    from byte ``start`` (a Parquet input: row ``start``) up to ``end``, numbered after the
    ``rows`` records and ``lines`` physical lines before it, so that every record keeps the
    row, line and id it has when the whole file is read."""

    start: int
    end: int
    rows: int
    lines: int


@dataclass(frozen=True)
class InputSpec:
    """An input: a file path (or "-" for stdin), how to read it, and which part of it."""

    path: str
    options: ReadOptions = ReadOptions()
    span: Span | None = None

    @property
    def format(self) -> str | None:
        return self.options.format

    def resolved_format(self) -> str:
        if self.path != "-" and Path(self.path).is_dir():
            raise InputError(f"{self.path} is a folder; pass a file of reviews")
        if self.format:
            if self.format not in INPUT_FORMATS:
                raise InputError(
                    f"unknown input format {self.format!r}; use {', '.join(INPUT_FORMATS)}"
                )
            return self.format
        if self.path == "-":
            return "csv"
        found = format_of(self.path)
        if found is None:
            raise InputError(
                f"cannot tell the format of {self.path} from its extension; pass --format "
                f"({', '.join(INPUT_FORMATS)})"
            )
        return found


NO_WORDS = "the review has no words the model reads (ASCII letters or digits)"
BLANK_LINE = "the line is blank"


def has_words(id_count: int) -> bool:
    """Whether a review encoded to ``id_count`` ids (the start id included) has a word the
    model reads; one without has no score in any interface (error: NO_WORDS)."""
    return id_count > 1


def check_text(text: Any) -> str:
    """Why a value cannot be scored as a review ('' when it can)."""
    if text is None:
        return "the review is missing (null)"
    if not isinstance(text, str):
        return f"the review is not text (a JSON {type(text).__name__})"
    if not text.strip():
        return "the review is empty"
    return ""


class RecordSource:
    """An open input: its columns, the chosen text and id columns, and its records."""

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self.options = spec.options
        self.format = spec.resolved_format()
        self.columns: list[str] = []
        self.text_column = ""
        self.id_column: str | None = None
        self.label_column: str | None = None
        self.kept_columns: list[str] = []  # the input columns each Record.kept holds
        # Arrow types of kept columns where the input states them (Parquet), for a writer
        # that can keep them (Parquet); other writers write every kept value as text.
        self.kept_types: dict[str, Any] = {}
        self._all_fields: list[str] | None = None  # JSON Lines with keep "all": every field
        self.header_end = (0, 0)  # CSV: bytes and lines of the header
        self._raw: IO[bytes] | None = None
        self._records: Iterator[Record] = iter(())
        self.progress_total: int | None = None  # what progress() counts to: bytes, or Parquet rows
        self.notes: list[str] = []  # things worth telling the user that are not errors
        self._parquet_rows_read = 0

    @property
    def where(self) -> str:
        return "stdin" if self.spec.path == "-" else self.spec.path

    def progress(self) -> tuple[int, int | None]:
        """How far reading has come and of how much: bytes, or rows for Parquet (the total is
        None when unknown, as on stdin)."""
        if self.format == "parquet":
            return self._parquet_rows_read, self.progress_total
        span, body = self.spec.span, getattr(self, "_span_raw", None)
        if span is not None and body is not None:
            return body.tell() - span.start, span.end - span.start
        try:
            done = self._raw.tell() if self._raw is not None else 0
        except (OSError, ValueError):
            done = 0
        return done, self.progress_total

    def __enter__(self) -> RecordSource:
        if self.format == "parquet":
            self._records = self._parquet()
            return self
        if self.spec.path == "-":
            self._raw = sys.stdin.buffer
        else:
            try:
                self._raw = open(self.spec.path, "rb")  # noqa: SIM115 (closed in __exit__)
                self.progress_total = Path(self.spec.path).stat().st_size
            except OSError as error:
                raise InputError(
                    f"cannot read {self.spec.path}: {error.strerror or error}"
                ) from None
        if self.format == "jsonl" and self.options.keep_columns == "all":
            self._all_fields = self._scan_fields()
        stream = _decompressed(self._raw, self.where)
        lines = _decoded_lines(stream, self.options.encoding, self.where)
        read = {"jsonl": self._jsonl, "text": self._text}.get(self.format, self._csv)
        if self.spec.span is not None:
            # The file's start still decides the codec, the header and (JSON) the fields;
            # then the records come from the span alone.
            self._body = self._span_lines()
        self._records = read(lines)
        # Reading the header now lets a bad header fail before any output is created.
        self._first = next(self._records, None)
        return self

    def _span_lines(self) -> Iterator[str]:
        """The decoded lines of the span, read through a handle of their own."""
        span = self.spec.span
        assert span is not None
        body = open(self.spec.path, "rb")  # noqa: SIM115 (closed in __exit__)
        self._span_raw = body
        codec = _after_bom(body, self.options.encoding, self.where)  # as the file's start says
        body.seek(span.start)
        return _decoded_lines(_lines_until(body, span.end - span.start), codec, self.where,
                              first_line=span.lines + 1, bom=False)  # fmt: skip

    def position(self, record: Record) -> tuple[int, int]:
        """(bytes, physical lines) read when ``record`` has just come: where it ends in a
        file read whole (for a format with a record a line, unless the line is blank)."""
        assert self._raw is not None
        counter = getattr(self, "_counter", None)
        return self._raw.tell(), counter.count if counter is not None else record.line

    def _scan_fields(self) -> list[str]:
        """Every field of every JSON record, in order of first appearance: a JSON line has no
        header, and keeping only the first record's fields would drop later ones. Reads the
        input once more (stdin is spooled to a temporary file for that)."""
        assert self._raw is not None
        if self._raw is sys.stdin.buffer or not self._raw.seekable():
            spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
            shutil.copyfileobj(self._raw, spool)
            self._raw = spool
        self._raw.seek(0)
        fields: dict[str, None] = {}
        stream = _decompressed(self._raw, self.where)
        for line in _decoded_lines(stream, self.options.encoding, self.where):
            value = _json_object(line)  # other lines get their error record when read
            if value is not None:
                fields.update(dict.fromkeys(value))
        self._raw.seek(0)
        return list(fields)

    def __exit__(self, *exc: object) -> None:
        if self._raw is not None and self._raw is not sys.stdin.buffer:
            self._raw.close()
        if getattr(self, "_span_raw", None) is not None:
            self._span_raw.close()

    def __iter__(self) -> Iterator[Record]:
        if getattr(self, "_first", None) is not None:
            yield self._first
        yield from self._records

    def _choose_columns(self, columns: list[str]) -> None:
        """The text, id, label and kept columns of a table's header (CSV, Parquet)."""
        options = self.options
        self.columns = columns
        self.text_column = resolve_column(columns, options.text_column, TEXT, self.where) or ""
        _unique_index(columns, self.text_column, self.where)
        self.id_column = self._id_column(columns)
        if options.label_column is not None:
            self.label_column = resolve_column(columns, options.label_column, LABEL, self.where)
        self.kept_columns = self._kept(columns)

    def _id_column(self, columns: list[str]) -> str | None:
        """``--id-column``, else a column called ``id`` (any case), else none (record numbers).
        A JSON field asked for may appear only in later records."""
        requested = self.options.id_column
        if requested is not None and self.format == "jsonl":
            return _column_in(columns, requested)
        found = resolve_column(columns, requested, ID, self.where)
        # A lone column called "id" that holds the reviews gives them no ids.
        return None if requested is None and found == self.text_column else found

    def _header_is_a_review(self, header: list[str]) -> bool:
        """A one-column header with no usual name may well be a review read as a header."""
        return (
            self.options.text_column is None and len(header) == 1 and not is_usual(header[0], TEXT)
        )

    # -- CSV / TSV ---------------------------------------------------------------------

    def _csv(self, lines: Iterator[str]) -> Iterator[Record]:
        delimiter = self.options.delimiter or ("\t" if self.format == "tsv" else ",")
        delimiter = _DELIMITER_NAMES.get(delimiter.lower(), delimiter)
        if len(delimiter) != 1:
            raise InputError(f"the delimiter must be one character (or tab), got {delimiter!r}")
        counter = self._counter = _LineCounter(lines)
        reader = csv.reader(counter, delimiter=delimiter, strict=True)
        try:
            header = next(reader)
        except StopIteration:
            raise InputError(f"{self.where} is empty: there is no header row") from None
        except csv.Error as error:
            raise InputError(f"{self.where}, line 1: malformed header ({error})") from None
        # Where the records begin (bytes, lines): the first range of a split file starts there.
        self.header_end = (self._raw.tell() if self._raw is not None else 0, counter.count)
        if len(header) == 1 and self.options.delimiter is None:
            self._refuse_hidden_delimiter(header[0], delimiter)
        self._choose_columns(header)
        text_index = header.index(self.text_column)
        id_index = (
            None if self.id_column is None else _unique_index(header, self.id_column, self.where)
        )
        label_index = None
        if self.label_column is not None:
            label_index = _unique_index(header, self.label_column, self.where)
        kept_at = [_unique_index(header, name, self.where) for name in self.kept_columns]
        row = 0
        span = self.spec.span
        if span is not None:  # the header came from the file's start; the records from here
            counter.lines, counter.count, row = self._body, span.lines, span.rows
        while True:
            start = counter.count + 1
            try:
                fields = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                raise InputError(
                    f"{self.where}, line {start}: {error} (is a quote left open?); nothing "
                    "was written"
                ) from None
            row += 1
            # With an id column, a record without a value there gets no id: never its number.
            ident: Any = row if id_index is None else None
            if id_index is not None and id_index < len(fields):
                ident = fields[id_index]
            label = None
            if label_index is not None and label_index < len(fields):
                label = fields[label_index]
            kept = tuple(fields[i] if i < len(fields) else None for i in kept_at)
            if len(fields) != len(header):
                if not any(fields) and len(fields) <= 1:
                    message = "the row is blank"
                else:
                    message = (
                        f"the row has {_count(len(fields), 'field')}; the header has {len(header)}"
                    )
                yield Record(row, start, ident, None, message, label, kept)
                continue
            text = fields[text_index]
            yield Record(row, start, ident, text, check_text(text), label, kept)
        if self._header_is_a_review(header) and (span is None or span.rows == 0):
            self._note_review_header(header[0], row)

    def _note_review_header(self, line: str, rows: int) -> None:
        """One line of plain text (stdin, a .csv of one review) reads as a CSV header with
        no records: never a silent empty success. With rows after it, say what happened."""
        shown = repr(line if len(line) <= 60 else line[:57] + "...")
        if rows == 0:
            raise InputError(
                f"{self.where}: its only line, {shown}, was read as the CSV header, so there "
                "is nothing to score. For one review a line, pass --format text; to score a "
                "text you type, use: scorer score TEXT"
            )
        self.notes.append(
            f"line 1 of {self.where}, {shown}, was read as the CSV header (the column's name) "
            "and not scored; if the input is one review a line, pass --format text"
        )

    def _kept(self, columns: list[str]) -> list[str]:
        """The input columns carried into the output (``keep_columns``); a table's must
        exist, a JSON field may appear only in later records."""
        wanted = self.options.keep_columns
        if wanted is None:
            return []
        if wanted == "all":
            return list(columns if self._all_fields is None else self._all_fields)
        if self.format == "jsonl":
            return [_column_in(columns, name) for name in wanted]
        return [resolve_column(columns, name, KEPT, self.where) or name for name in wanted]

    def _refuse_hidden_delimiter(self, only_column: str, delimiter: str) -> None:
        """A one-column header with a ';', tab or '|' in it is most likely another delimiter:
        scoring each whole line as a review would give garbage with exit code 0."""
        for candidate, name in _OTHER_DELIMITERS.items():
            if candidate != delimiter and candidate in only_column:
                raise InputError(
                    f"{self.where}, line 1: the header is one column, {only_column!r}, that "
                    f"contains {name}; if that is the delimiter, pass --delimiter "
                    f"{'tab' if candidate == chr(9) else candidate!r} (to score the one column "
                    "as it is, pass --delimiter ',')"
                )

    # -- JSON Lines and plain text: a record a line ---------------------------------------

    def _jsonl(self, lines: Iterator[str]) -> Iterator[Record]:
        span = self.spec.span
        if span is not None:
            # The file's first JSON object names the fields; when it lies before the span,
            # read up to it, as a whole read would have.
            for row, _, line in _numbered_records(lines):
                value = _json_object(line)
                if value is not None:
                    if row <= span.rows:
                        self._jsonl_fields(value)
                    break
            lines = self._body
        rows, first = (0, 1) if span is None else (span.rows, span.lines + 1)
        for row, number, line in _numbered_records(lines, rows, first):
            no_id = None if self.id_column or self.options.id_column else row
            if not line.strip():
                yield Record(row, number, no_id, None, BLANK_LINE)
                continue
            try:
                value = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as error:
                yield Record(row, number, no_id, None, f"line {number} is not valid JSON ({error})")
                continue
            if not isinstance(value, dict):
                kind = type(value).__name__
                yield Record(
                    row, number, no_id, None, f"line {number} is a JSON {kind}, not an object"
                )
                continue
            if not self.text_column:
                self._jsonl_fields(value)
            ident = value.get(self.id_column) if self.id_column else row
            label = value.get(self.label_column) if self.label_column else None
            kept = tuple(value.get(name) for name in self.kept_columns)
            if self.text_column not in value:
                message = f"no {self.text_column!r} field"
                yield Record(row, number, ident, None, message, label, kept)
                continue
            text = value[self.text_column]
            yield Record(
                row,
                number,
                ident,
                text if isinstance(text, str) else None,
                check_text(text),
                label,
                kept,
            )

    def _jsonl_fields(self, value: dict[str, Any]) -> None:
        """The text, id, label and kept fields, named by the first JSON object."""
        self.columns = list(value)
        self.text_column = (
            resolve_column(self.columns, self.options.text_column, TEXT, self.where) or ""
        )
        self.id_column = self._id_column(self.columns)
        if self.options.label_column is not None:
            self.label_column = _column_in(self.columns, self.options.label_column)
        self.kept_columns = self._kept(self.columns)

    def _text(self, lines: Iterator[str]) -> Iterator[Record]:
        """One review a line, no header: every line is a record; ids are line numbers."""
        options = self.options
        if options.id_column is not None:
            raise InputError(
                f"{self.where} is plain text, one review a line: it has no id column (its ids "
                "are line numbers); leave out --id-column"
            )
        if options.label_column is not None:
            raise InputError(
                f"{self.where} is plain text, one review a line: it has no label column; "
                "labelled data needs CSV, TSV, JSON Lines or Parquet"
            )
        self.columns = [TEXT_FORMAT_COLUMN]
        self.text_column = resolve_column(self.columns, options.text_column, TEXT, self.where) or ""
        self.kept_columns = self._kept(self.columns)
        span = self.spec.span
        rows, first = (0, 1) if span is None else (span.rows, span.lines + 1)
        for row, number, line in _numbered_records(self._body if span else lines, rows, first):
            text = line.rstrip("\r\n")
            if row == 1 and options.format is None and "\t" in text:
                # Excel's "Unicode Text" is a tab-separated table in a .txt file.
                raise InputError(
                    f"{self.where}, line 1 has tabs: is it a tab-separated table (as Excel's "
                    "'Unicode Text' saves one)? Then pass --format tsv; to score every whole "
                    "line as a review, pass --format text"
                )
            kept = (text,) * len(self.kept_columns)
            if not text.strip():
                yield Record(row, number, row, None, BLANK_LINE, None, kept)
                continue
            yield Record(row, number, row, text, "", None, kept)

    # -- Parquet ------------------------------------------------------------------------

    def _parquet(self) -> Iterator[Record]:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError(
                "reading Parquet needs pyarrow: pip install 'lstm-sentiment[parquet]'"
            ) from None
        if self.spec.path == "-":
            raise InputError("Parquet cannot be read from stdin; pass a file path")
        try:
            parquet = pq.ParquetFile(self.spec.path)
        except Exception as error:  # pyarrow raises several unrelated types
            raise InputError(f"cannot read {self.spec.path} as Parquet: {error}") from None
        self.progress_total = parquet.metadata.num_rows  # progress counts rows here
        self._choose_columns(parquet.schema_arrow.names)
        schema = parquet.schema_arrow
        self.kept_types = {name: schema.field(name).type for name in self.kept_columns}
        wanted = [self.text_column, self.id_column, self.label_column, *self.kept_columns]
        return self._parquet_rows(parquet, list(dict.fromkeys(w for w in wanted if w)))

    def _parquet_batches(self, parquet: Any, wanted: list[str]) -> Iterator[Any]:
        """The file's batches, or those of the row groups that hold the span's rows, sliced
        to them."""
        span = self.spec.span
        if span is None:
            yield from parquet.iter_batches(batch_size=4096, columns=wanted)
            return
        groups, before, first = [], None, 0
        for group in range(parquet.metadata.num_row_groups):
            size = parquet.metadata.row_group(group).num_rows
            if first < span.end and first + size > span.start:
                groups.append(group)
                before = first if before is None else before
            first += size
        if not groups:
            return
        for batch in parquet.iter_batches(batch_size=4096, columns=wanted, row_groups=groups):
            lo, hi = max(span.start - before, 0), min(span.end - before, batch.num_rows)
            if hi > lo:
                yield batch.slice(lo, hi - lo)
            before += batch.num_rows

    def _parquet_rows(self, parquet: Any, wanted: list[str]) -> Iterator[Record]:
        row = 0 if self.spec.span is None else self.spec.span.start
        try:
            for batch in self._parquet_batches(parquet, wanted):
                texts = batch.column(self.text_column).to_pylist()
                ids = batch.column(self.id_column).to_pylist() if self.id_column else None
                label_column = self.label_column
                labels = batch.column(label_column).to_pylist() if label_column else None
                carried = [batch.column(name).to_pylist() for name in self.kept_columns]
                for i, text in enumerate(texts):
                    row += 1
                    ident = ids[i] if ids is not None else row
                    label = labels[i] if labels is not None else None
                    error = check_text(text)
                    readable = text if isinstance(text, str) else None
                    kept = tuple(values[i] for values in carried)
                    yield Record(row, 0, ident, readable, error, label, kept)
                self._parquet_rows_read = row
        except OSError as error:
            raise InputError(f"cannot read {self.spec.path} as Parquet: {error}") from None


def _numbered_records(
    lines: Iterator[str], rows: int = 0, first_line: int = 1
) -> Iterator[tuple[int, int, str]]:
    """(record number, line number, line) of a format with a record a line, numbered after
    ``rows`` records from line ``first_line``. Every line is a record, a blank one too, so
    that lines and records stay paired; but blank lines at the end are not records (editors
    and exports leave them there)."""
    blanks: list[tuple[int, str]] = []
    row = rows
    for number, line in enumerate(lines, start=first_line):
        if not line.strip():
            blanks.append((number, line))
            continue
        for blank in blanks:
            row += 1
            yield (row, *blank)
        blanks.clear()
        row += 1
        yield row, number, line


def _json_object(line: str) -> dict[str, Any] | None:
    try:
        value = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _lines_until(raw: IO[bytes], size: int) -> Iterator[bytes]:
    """The lines of the next ``size`` bytes of ``raw`` (a span ends where a line does)."""
    left = size
    while left > 0:
        line = raw.readline()
        if not line:
            return
        left -= len(line)
        yield line


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def open_input(spec: InputSpec) -> RecordSource:
    return RecordSource(spec)


class _LineCounter:
    """Feeds lines to ``csv.reader`` and counts them, so records know their line numbers."""

    def __init__(self, lines: Iterator[str]) -> None:
        self.lines, self.count = lines, 0

    def __iter__(self) -> _LineCounter:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.count += 1
        return line


def _column_in(columns: list[str], requested: str) -> str:
    """A JSON field named ``requested``, or in another case when exactly one matches so; a
    field missing from the first record may still appear in later ones."""
    if requested in columns:
        return requested
    matches = case_matches(columns, requested)
    return matches[0] if len(matches) == 1 else requested


def _decompressed(raw: IO[bytes], where: str) -> IO[bytes]:
    """``raw``, or a decompressing reader over it when its first bytes say gzip, bzip2 or xz
    (the extension does not matter)."""
    try:
        peek = raw.peek(8)[:8] if hasattr(raw, "peek") else b""
        if not peek and raw.seekable():
            peek = raw.read(8)
            raw.seek(0)
    except OSError:
        return raw
    for magic, opener in _COMPRESSIONS.items():
        if peek.startswith(magic):
            inner = _CheckedDecompression(opener(raw, "rb"), where)  # type: ignore[operator]
            return io.BufferedReader(inner, 1 << 16)
    return raw


class _CheckedDecompression(io.RawIOBase):
    """A decompressing reader whose damaged or cut-off data is an ``InputError``."""

    def __init__(self, inner: IO[bytes], where: str) -> None:
        self.inner, self.where = inner, where

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(len(buffer))
        except (OSError, EOFError, lzma.LZMAError) as error:
            raise InputError(f"{self.where} is compressed but cannot be read: {error}") from None
        buffer[: len(data)] = data
        return len(data)


# Byte-order marks and the codecs they announce; UTF-32's little-endian mark begins with
# UTF-16's, so it is looked for first.
_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
)


def wide_encoding(encoding: str, head: bytes) -> bool:
    """Whether a file that starts with ``head``, read as ``encoding``, is UTF-16 or UTF-32
    (its byte-order mark decides, as reading it does): there a byte 0x0a is no newline."""
    codec = _codec(encoding)
    for mark, marked, _ in _BOMS:
        if head.startswith(mark):
            codec = marked if _family(codec) in ("utf-8", _family(marked)) else codec
            break
    return "\n".encode(codec) != b"\n"


def is_compressed(head: bytes) -> bool:
    """Whether a file's first bytes say gzip, bzip2 or xz (as reading it finds)."""
    return head.startswith(tuple(_COMPRESSIONS))


def mark_length(head: bytes) -> int:
    """The length of the byte-order mark a file's first bytes begin with (0 for none)."""
    return next((len(mark) for mark, _, _ in _BOMS if head.startswith(mark)), 0)


def _codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"unknown encoding {encoding!r}") from None


def _family(codec: str) -> str:
    """'utf-8', 'utf-16' or 'utf-32' for the Unicode codecs (any byte order), else ``codec``."""
    for family in ("utf-8", "utf-16", "utf-32"):
        if codec.startswith(family):
            return family
    return codec


def _after_bom(raw: IO[bytes], encoding: str, where: str) -> str:
    """The codec to read ``raw`` with, its byte-order mark (if any) read past. A UTF-16 or
    UTF-32 mark is followed when the encoding is UTF-8 (the default) or the mark's own
    family; another explicit encoding that disagrees with the mark is an error naming the
    right one, since reading on would give garbage, not a decoding error."""
    codec = _codec(encoding)
    try:
        peek = raw.peek(4)[:4] if hasattr(raw, "peek") else b""
    except OSError:
        peek = b""
    for mark, marked, name in _BOMS:
        if not peek.startswith(mark):
            continue
        if _family(codec) not in ("utf-8", _family(marked)):
            raise InputError(
                f"{where} starts with a {name} byte-order mark, but --encoding is {encoding}; "
                f"pass --encoding {name.lower()} (or leave --encoding out)"
            )
        raw.read(len(mark))
        return marked
    return codec


def _decoded_lines(
    raw: Any, encoding: str, where: str, first_line: int = 1, bom: bool = True
) -> Iterator[str]:
    """Physical lines decoded one at a time, so a decoding error can name its line (lines
    are numbered from ``first_line``; ``bom=False``: a span, which starts with no mark)."""
    codec = _after_bom(raw, encoding, where) if bom else _codec(encoding)
    if "\n".encode(codec) != b"\n":  # UTF-16, UTF-32: a byte 0x0a is not a line break
        yield from _wide_lines(raw, codec, encoding, where)
        return
    for number, line in enumerate(raw, start=first_line):
        try:
            yield line.decode(codec)
        except UnicodeDecodeError as error:
            bad = line[error.start : error.start + 1].hex()
            hint = (
                "If the file uses another encoding, pass it, for example --encoding cp1252"
                if _family(codec) == "utf-8"
                else "Is --encoding right for this file?"
            )
            raise InputError(
                f"{where}, line {number}: byte 0x{bad} at column {error.start + 1} is not "
                f"{encoding} text. {hint}"
            ) from None


def _wide_lines(raw: IO[bytes], codec: str, encoding: str, where: str) -> Iterator[str]:
    """Lines of a text whose code units are wider than a byte, decoded as a stream."""
    text = io.TextIOWrapper(raw, encoding=codec, newline="")  # type: ignore[arg-type]
    number = 0
    try:
        while True:
            try:
                line = text.readline()
            except UnicodeDecodeError:
                raise InputError(
                    f"{where}, line {number + 1}: bytes that are not {encoding} text (is "
                    "--encoding right for this file?)"
                ) from None
            if not line:
                return
            number += 1
            yield line
    finally:
        with contextlib.suppress(ValueError):
            text.detach()  # the caller closes the file, not this wrapper


def _unique_index(columns: list[str], name: str, where: str) -> int:
    count = columns.count(name)
    if count > 1:
        raise InputError(
            f"{where}: the column {name!r} appears {count} times in the header, so it is "
            "ambiguous; rename the duplicates"
        )
    return columns.index(name)
