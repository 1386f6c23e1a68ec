"""Where a run's texts come from: the IMDb archive, or the user's own labelled file.

    data = ImdbData("aclImdb_v1.tar.gz")
    read = ReadOptions(text_column="body", label_column="tag")
    data = FileData.read(InputSpec("tickets.csv", read))
    data.labels                  # ("bad", "good"): negative, positive, as the data names them
    data.labelled()              # training rows (the recipe holds its validation share out
    data.validation()            #   of them, unless this gives a validation set)
    data.test(); data.unlabelled()

A labelled file is read with the scorer's own readers (CSV/TSV/JSON Lines/Parquet): a record
that cannot be used (a malformed row, an empty text, a missing label) is reported with its
line, never dropped in silence. Unless a test file is given, a seeded, stratified share of the
file is held out as the test set. ``describe()`` is what the run folder records
(``data.json``); ``for_run`` reads it back, so ``export`` and ``evaluate`` score the very rows
the run never trained on, and refuse a file that changed since (its SHA-256 differs).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from lstm_sentiment.runtime.columns import LABEL, resolve_column
from lstm_sentiment.runtime.contract import tokenize
from lstm_sentiment.runtime.digest import file_sha256
from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.labels import label_text, order_labels
from lstm_sentiment.runtime.readers import InputSpec, ReadOptions, open_input
from lstm_sentiment.runtime.signature import DEFAULT_LABELS
from lstm_sentiment.train import imdb
from lstm_sentiment.train.imdb import Review
from lstm_sentiment.train.samplers import stratified_holdout

DATA_FILE = "data.json"
TEST_SHARE = 0.2  # of a labelled file, held out as its test set when no test file is given
MIN_ROWS_PER_LABEL = 20  # in the training rows, so that each held-out part gets some of both
_SHOWN_PROBLEMS = 5  # problem rows named in a message; data.json keeps every one

Say = Callable[[str], None]


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class DataFileError(LstmSentimentError):
    """A labelled file cannot be trained on."""


class Dataset(Protocol):
    labels: tuple[str, str]

    def labelled(self) -> list[Review]: ...
    def validation(self) -> list[Review] | None: ...
    def test(self) -> list[Review]: ...
    def unlabelled(self) -> list[Review]: ...
    def describe(self) -> dict[str, Any]: ...


@dataclass
class ImdbData:
    """The official archive's splits: train, test and the 50,000 unlabelled reviews."""

    source: Path
    check_counts: bool = True  # False when a run samples a subset anyway
    labels: tuple[str, str] = DEFAULT_LABELS

    def labelled(self) -> list[Review]:
        return imdb.load_split(self.source, "train", check_counts=self.check_counts)

    def validation(self) -> list[Review] | None:
        return None

    def test(self) -> list[Review]:
        return imdb.load_split(self.source, "test", check_counts=self.check_counts)

    def unlabelled(self) -> list[Review]:
        return imdb.load_split(self.source, "unsup", check_counts=self.check_counts)

    def describe(self) -> dict[str, Any]:
        return {"kind": "imdb", "source": str(self.source), "labels": list(self.labels)}


@dataclass
class _Rows:
    """What one file gave: usable rows, and every record that was not usable, with why."""

    reviews: list[Review]
    values: list[str]  # each usable row's label value as text ('' when unlabelled)
    problems: list[str] = field(default_factory=list)
    records: int = 0
    without_text: int = 0  # records whose text is empty, missing or unreadable
    sha256: str = ""
    text_column: str = ""
    label_column: str = ""


@dataclass
class FileData:
    """A user's labelled file (and optional validation, test and unlabelled files)."""

    train_file: InputSpec
    labels: tuple[str, str]
    rows: _Rows
    test_file: InputSpec | None = None
    validation_file: InputSpec | None = None
    unlabelled_file: InputSpec | None = None
    seed: int = 1337
    _test: list[Review] = field(default_factory=list)
    _validation: list[Review] | None = None

    @classmethod
    def read(
        cls,
        train: InputSpec,
        *,
        positive: str | None = None,
        test: InputSpec | None = None,
        validation: InputSpec | None = None,
        unlabelled: InputSpec | None = None,
        seed: int = 1337,
        say: Say = _warn,
    ) -> FileData:
        """Read and check the labelled file(s); carve the test set unless one is given.
        Records left out (and why) are told through ``say``."""
        rows = _read_rows(train, labelled=True, say=say)
        column = rows.label_column
        _refuse_mostly_empty(train, rows)
        counts = Counter(rows.values)
        labels = order_labels(counts, positive, column)
        numbered = [
            dataclasses.replace(r, label=int(v == labels[1]))
            for r, v in zip(rows.reviews, rows.values, strict=True)
        ]
        data = cls(train, labels, rows, test, validation, unlabelled, seed)
        if test is None:
            keep, held = stratified_holdout([r.label for r in numbered], TEST_SHARE, seed)
            data._test = [numbered[i] for i in held]
            numbered = [numbered[i] for i in keep]
        else:
            data._test = data._read_labelled(test, say)
        if validation is not None:
            data._validation = data._read_labelled(validation, say)
        data.rows.reviews = numbered
        _refuse_too_few(train, numbered, labels, held_out=test is None)
        _refuse_no_words(train, numbered)
        return data

    def _read_labelled(self, source: InputSpec, say: Say) -> list[Review]:
        """A test or validation file: its labels must be this data's two names."""
        rows = _read_rows(source, labelled=True, say=say)
        _refuse_mostly_empty(source, rows)
        strange = sorted(set(rows.values) - set(self.labels))
        if strange:
            raise DataFileError(
                f"{source.path}: label {strange[0]!r} is neither {self.labels[1]!r} nor "
                f"{self.labels[0]!r}, the labels of {self.train_file.path}"
            )
        if not rows.reviews:
            raise DataFileError(f"{source.path} has no usable labelled rows")
        return [
            dataclasses.replace(r, label=int(v == self.labels[1]))
            for r, v in zip(rows.reviews, rows.values, strict=True)
        ]

    def labelled(self) -> list[Review]:
        return list(self.rows.reviews)

    def validation(self) -> list[Review] | None:
        return None if self._validation is None else list(self._validation)

    def test(self) -> list[Review]:
        return list(self._test)

    def unlabelled(self) -> list[Review]:
        if self.unlabelled_file is None:
            return []
        return _read_rows(self.unlabelled_file, labelled=False).reviews

    def problems(self) -> list[str]:
        return list(self.rows.problems)

    def describe(self) -> dict[str, Any]:
        def file(source: InputSpec | None) -> dict[str, Any] | None:
            if source is None:
                return None
            read = dataclasses.asdict(source.options)
            return {"path": source.path, **read, "sha256": file_sha256(Path(source.path))}

        return {
            "kind": "file",
            "labels": list(self.labels),
            "train": {
                **file(self.train_file),  # type: ignore[dict-item]
                "text_column": self.rows.text_column,
                "label_column": self.rows.label_column,
                "records": self.rows.records,
                "problems": self.rows.problems,
            },
            "test": file(self.test_file) or {"held_out_share": TEST_SHARE, "seed": self.seed},
            "validation": file(self.validation_file),
            "unlabelled": file(self.unlabelled_file),
            "rows": {
                "train": len(self.rows.reviews),
                "test": len(self._test),
                "validation": None if self._validation is None else len(self._validation),
            },
        }

    @classmethod
    def from_description(cls, described: dict[str, Any]) -> FileData:
        """Read the files a run recorded again, refusing any that changed since."""

        def source(entry: dict[str, Any] | None) -> InputSpec | None:
            if entry is None or "path" not in entry:
                return None
            found = file_sha256(Path(entry["path"]))
            if found != entry["sha256"]:
                raise DataFileError(
                    f"{entry['path']} changed since the run was trained (its SHA-256 differs), "
                    "so its held-out rows would not be the same; restore it or train again"
                )
            return InputSpec(
                entry["path"], ReadOptions(**{k: entry[k] for k in _READ_FIELDS if k in entry})
            )

        train = source(described["train"])
        assert train is not None
        test = described["test"]
        return cls.read(
            train,
            positive=described["labels"][1],
            test=source(test),
            validation=source(described.get("validation")),
            unlabelled=source(described.get("unlabelled")),
            seed=test.get("seed", 1337) if "held_out_share" in test else 1337,
        )


_READ_FIELDS = [f.name for f in dataclasses.fields(ReadOptions)]


def missing_run_file(folder: Path, needs: tuple[str, ...]) -> str | None:
    """Why ``folder`` is no trained model folder (the first of ``needs`` it lacks), or None."""
    for name in needs:
        if not (folder / name).is_file():
            return f"{folder} is not a trained model folder: {name} is missing"
    return None


def for_run(folder: Path, imdb_source: Path | None = None, check_counts: bool = True) -> Dataset:
    """The data a run folder was trained on (``data.json``); runs without one used IMDb,
    found at ``imdb_source`` (default: as ``imdb.resolve_source`` finds it)."""
    recorded = folder / DATA_FILE
    if recorded.is_file():
        described = json.loads(recorded.read_text(encoding="utf-8"))
        if described.get("kind") == "file":
            if imdb_source is not None:
                raise DataFileError(
                    f"{folder} was trained on {described['train']['path']}, not on IMDb: its "
                    f"data comes from {recorded}, so leave --data out"
                )
            return FileData.from_description(described)
    return ImdbData(imdb.resolve_source(imdb_source), check_counts)


def is_table_file(path: Path) -> bool:
    """Whether ``path`` names a CSV/TSV/JSON Lines/Parquet file (else: the IMDb archive)."""
    if path.is_dir():
        return False
    try:
        InputSpec(str(path)).resolved_format()
    except LstmSentimentError:
        return False
    return True


def _read_rows(source: InputSpec, *, labelled: bool, say: Say = _warn) -> _Rows:
    path = Path(source.path)
    if not path.is_file():
        raise DataFileError(f"no file at {source.path}")
    label_column = _label_column(source) if labelled else None
    rows = _Rows([], [], sha256=file_sha256(path))
    label = dataclasses.replace(source.options, label_column=label_column)
    with open_input(InputSpec(source.path, label)) as records:
        for record in records:
            rows.records += 1
            where = record.where
            value = label_text(record.label) if labelled else ""
            if record.error:
                rows.without_text += 1
                rows.problems.append(f"{where}: {record.error}")
            elif value is None:
                rows.problems.append(f"{where}: no label")
            else:
                name = f"{path.name}:{record.line or record.row}"
                rows.reviews.append(Review(name, "file", None, 0, record.text or ""))
                rows.values.append(value)
        rows.text_column = records.text_column
        rows.label_column = records.label_column or ""
    if rows.problems:
        shown = "; ".join(rows.problems[:_SHOWN_PROBLEMS])
        more = len(rows.problems) - _SHOWN_PROBLEMS
        noun = "record" if len(rows.problems) == 1 else "records"
        say(
            f"warning: {source.path}: left out {len(rows.problems):,} {noun} of "
            f"{rows.records:,}: {shown}" + (f"; and {more:,} more" if more > 0 else "")
        )
    return rows


def _label_column(source: InputSpec) -> str:
    """The label column asked for, else the one with a usual name (columns.LABEL)."""
    if source.options.label_column is not None:
        return source.options.label_column
    unlabelled = dataclasses.replace(source.options, label_column=None)
    with open_input(InputSpec(source.path, unlabelled)) as records:
        next(iter(records), None)  # JSON Lines learn their columns from the first record
        columns = records.columns
    return resolve_column(columns, None, LABEL, source.path) or ""


def _refuse_mostly_empty(source: InputSpec, rows: _Rows) -> None:
    if rows.records == 0:
        raise DataFileError(f"{source.path} holds no records")
    if rows.without_text * 2 > rows.records:
        raise DataFileError(
            f"{source.path}: the text column {rows.text_column!r} is empty or unreadable in "
            f"{rows.without_text:,} of {rows.records:,} records; is it the right column? "
            "(pass --text-column NAME)"
        )


def _refuse_too_few(
    source: InputSpec, reviews: list[Review], labels: tuple[str, str], held_out: bool
) -> None:
    per_label = Counter(r.label for r in reviews)
    short = [labels[k] for k in (0, 1) if per_label[k] < MIN_ROWS_PER_LABEL]
    if short:
        after = " after the test hold-out" if held_out else ""
        raise DataFileError(
            f"too few rows to train: {source.path} leaves {per_label[1]:,} {labels[1]!r} and "
            f"{per_label[0]:,} {labels[0]!r} rows{after}; at least {MIN_ROWS_PER_LABEL} of each "
            f"label are needed (about {int(MIN_ROWS_PER_LABEL / (1 - TEST_SHARE)) + 1} of each "
            "in a file the test set is carved from), and thousands to beat chance by much"
        )


def _refuse_no_words(source: InputSpec, reviews: list[Review]) -> None:
    # Contract version 1 and 2 read the same words but for apostrophes: either will do here.
    if not any(tokenize(r.text) for r in reviews):
        raise DataFileError(
            f"{source.path}: no vocabulary left after the text contract: none of its "
            f"{len(reviews):,} texts holds a word it reads (runs of ASCII letters and digits)"
        )
