"""The file formats reviews come in and scores go out in: the one table everything reads.

Readers, writers, jobs and both CLIs take their names, suffixes and choices from here.

    from lstm_sentiment.runtime.formats import FORMATS, format_of
    format_of("reviews/2026/a.csv.gz")   # 'csv'
    FORMATS["jsonl"].suffix              # '.jsonl' (what outputs in this format are named)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import PurePath


@dataclass(frozen=True)
class FileFormat:
    name: str
    suffixes: tuple[str, ...]  # the first is what an output in this format is named
    readable: bool  # reviews can be read from it
    writable: bool  # scores can be written to it
    description: str

    @property
    def suffix(self) -> str:
        return self.suffixes[0]


FORMATS: dict[str, FileFormat] = {
    f.name: f
    for f in (
        FileFormat("csv", (".csv",), True, True, "comma-separated values, a header row first"),
        FileFormat("tsv", (".tsv", ".tab"), True, True, "tab-separated values, a header row"),
        FileFormat("jsonl", (".jsonl", ".ndjson"), True, True, "one JSON object a line"),
        FileFormat("parquet", (".parquet", ".pq"), True, True, "Apache Parquet (pyarrow)"),
        # Scores need columns, so plain text is an input format only.
        FileFormat("text", (".txt",), True, False, "one review a line, no header"),
    )
}
INPUT_FORMATS = tuple(name for name, f in FORMATS.items() if f.readable)
OUTPUT_FORMATS = tuple(name for name, f in FORMATS.items() if f.writable)
# Compressed inputs are read as they are (the codec is told by the first bytes); these
# suffixes are looked through to find the format underneath.
COMPRESSED_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz")
_BY_SUFFIX = {suffix: f.name for f in FORMATS.values() for suffix in f.suffixes}


def strip_compression(name: str) -> str:
    """``name`` without one compression suffix (``a.csv.gz`` -> ``a.csv``)."""
    lowered = name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


def format_of(path: str) -> str | None:
    """The input format that ``path``'s extension names (through any compression suffix),
    or None."""
    suffix = PurePath(strip_compression(PurePath(path).name)).suffix.lower()
    name = _BY_SUFFIX.get(suffix)
    return name if name in INPUT_FORMATS else None


def output_format_of(path: str) -> str | None:
    """The output format that ``path``'s own extension names (no compression suffix: scores
    are written uncompressed), or None."""
    name = _BY_SUFFIX.get(PurePath(path).suffix.lower())
    return name if name in OUTPUT_FORMATS else None


def strip_data_suffix(name: str) -> str:
    """``name`` without its compression and data-format suffixes (``a.csv.gz`` -> ``a``)."""
    bare = strip_compression(name)
    suffix = PurePath(bare).suffix
    return bare[: -len(suffix)] if suffix and suffix.lower() in _BY_SUFFIX else bare


# The CLIs' choices, made from the table so that a new format needs no edit there.
InputFormat = Enum("InputFormat", {n.upper(): n for n in INPUT_FORMATS}, type=str)  # type: ignore[misc]
OutputFormat = Enum("OutputFormat", {n.upper(): n for n in OUTPUT_FORMATS}, type=str)  # type: ignore[misc]
