"""Label values as a data file spells them, and which of two names the positive class.

A model carries its two label names (``labels`` in its metadata, negative first). Training on
a user's file takes the names from the file's label column; comparing models on a labelled
file reads the column against the models' names. Values are compared as text: ``1``, ``1.0``
and JSON ``true``/``1`` from a typed format become ``1``/``true``; surrounding spaces go.

    negative, positive = order_labels({"good", "bad"}, positive="good")
    read = LabelReader(("bad", "good"))
    read(" Good ", "line 3")    # 1
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from lstm_sentiment.runtime.errors import LstmSentimentError

# Spellings that say which class a value is, without being told (case-insensitive).
POSITIVE_SPELLINGS = ("positive", "pos", "1", "true")
NEGATIVE_SPELLINGS = ("negative", "neg", "0", "false")


class LabelError(LstmSentimentError):
    """Label values that cannot be read as a binary label."""


@dataclass(frozen=True)
class LabelRule:
    """Score -> label name: the positive name at or above the threshold, else the negative
    one; no score (None, NaN) has no label. Every interface labels by this one rule."""

    names: tuple[str, str]  # (negative, positive)
    threshold: float

    def __call__(self, score: float | None) -> str | None:
        if score is None or math.isnan(score):
            return None
        return self.names[1] if score >= self.threshold else self.names[0]

    @property
    def positive(self) -> str:
        return self.names[1]


def label_text(value: Any) -> str | None:
    """A label value as text; None for a missing or blank one."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


def order_labels(
    counts: Mapping[str, int] | Collection[str], positive: str | None = None, column: str = "label"
) -> tuple[str, str]:
    """(negative, positive) for exactly two label values; ``positive`` names the positive one
    when the values do not say so themselves (see POSITIVE_SPELLINGS)."""
    values = sorted(counts)
    if len(values) != 2:
        listed = ", ".join(
            f"{v!r}"
            + (
                f" ({counts[v]:,} row{'' if counts[v] == 1 else 's'})"
                if isinstance(counts, Mapping)
                else ""
            )
            for v in values[:8]
        )
        more = f" and {len(values) - 8} more" if len(values) > 8 else ""
        what = "one value" if len(values) == 1 else f"{len(values)} values"
        if not values:
            what, listed = "no values", "(none)"
        raise LabelError(
            f"the {column!r} column holds {what}: {listed}{more}; a binary classifier needs "
            "exactly two"
        )
    if positive is not None:
        chosen = _match(values, positive)
        if chosen is None:
            raise LabelError(
                f"--positive {positive!r} is not a value of the {column!r} column; its values "
                f"are {values[0]!r} and {values[1]!r}"
            )
    else:
        chosen = _obvious_positive(values)
        if chosen is None:
            raise LabelError(
                f"cannot tell which of {values[0]!r} and {values[1]!r} is the positive label: "
                f"pass --positive {values[0]!r} or --positive {values[1]!r}"
            )
    other = values[1] if chosen == values[0] else values[0]
    return other, chosen


def _match(values: list[str], wanted: str) -> str | None:
    if wanted in values:
        return wanted
    folded = [v for v in values if v.lower() == wanted.strip().lower()]
    return folded[0] if len(folded) == 1 else None


def _obvious_positive(values: list[str]) -> str | None:
    says_positive = [v for v in values if v.lower() in POSITIVE_SPELLINGS]
    says_negative = [v for v in values if v.lower() in NEGATIVE_SPELLINGS]
    if len(says_positive) == 1 and says_positive[0] not in says_negative:
        return says_positive[0]
    if not says_positive and len(says_negative) == 1:
        return next(v for v in values if v != says_negative[0])
    return None


class LabelReader:
    """Reads label values as 0/1 by a model's label names (any case), and by the obvious
    spellings of POSITIVE_SPELLINGS / NEGATIVE_SPELLINGS that do not clash with them."""

    def __init__(self, names: tuple[str, str]) -> None:
        self.names = names
        self.index: dict[str, int] = {}
        for number, spellings in ((0, NEGATIVE_SPELLINGS), (1, POSITIVE_SPELLINGS)):
            for spelling in spellings:
                self.index.setdefault(spelling, number)
        mine = {name.lower(): number for number, name in enumerate(names)}
        # A model's own names win over the obvious spellings (a model might call 0 positive).
        self.index = {k: v for k, v in self.index.items() if k not in mine} | mine

    def __call__(self, value: Any, where: str) -> int:
        text = label_text(value)
        number = self.index.get(text.lower()) if text is not None else None
        if number is None:
            negative, positive = self.names
            raise LabelError(
                f"{where}: label {value!r} is neither {positive!r} nor {negative!r} (the "
                "model's labels)"
            )
        return number
