"""Which input column holds the reviews, the ids, the labels: one resolver for every format.

    from lstm_sentiment.runtime.columns import TEXT, resolve_column
    resolve_column(["ID", "Review Text", "Rating"], None, TEXT, "reviews.csv")  # 'Review Text'

A column asked for by name matches exactly, else in any case when only one column does so.
Without a name, a column whose name is one of the role's usual names matches, in any case and
ignoring spaces, ``_`` and ``-`` (``Review Text``, ``review_text`` and ``reviewText`` are one
name); exactly one column may match so. The text may also be the only column.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lstm_sentiment.runtime.errors import InputError

# The names files in the wild give their review column (exports of shops, survey tools,
# review sites, datasets); documented in the scorer's reference.
TEXT_COLUMN_NAMES = (
    "review",
    "reviews",
    "text",
    "review text",
    "review body",
    "review content",
    "body",
    "comment",
    "comments",
    "content",
    "feedback",
    "sentence",
    "tweet",
)
ID_COLUMN_NAMES = ("id",)
LABEL_COLUMN_NAMES = ("label", "labels", "sentiment")


@dataclass(frozen=True)
class Role:
    what: str  # "the reviews"
    option: str  # the CLI option that names the column
    names: tuple[str, ...]  # usual names, matched when none is asked for
    only_column: bool  # an input with just one column holds this
    required: bool  # without a match: an error (else None: the role is left out)


TEXT = Role("the reviews", "--text-column", TEXT_COLUMN_NAMES, True, True)
ID = Role("the ids", "--id-column", ID_COLUMN_NAMES, False, False)
LABEL = Role("the labels", "--label-column", LABEL_COLUMN_NAMES, False, True)
KEPT = Role("a kept column", "--keep-columns", (), False, True)


def folded(name: str) -> str:
    """A column name as the usual names are matched: any case, no spaces, ``_`` or ``-``."""
    return re.sub(r"[\s_\-]+", "", name).lower()


def case_matches(columns: list[str], name: str) -> list[str]:
    """The columns that are ``name`` but for case and surrounding spaces."""
    wanted = name.strip().lower()
    return [c for c in columns if c.strip().lower() == wanted]


def listing(columns: list[str]) -> str:
    return ", ".join(repr(c) for c in columns) or "(none)"


def resolve_column(columns: list[str], requested: str | None, role: Role, where: str) -> str | None:
    """The column of ``columns`` that holds ``role``'s values (see the module's docstring);
    None only for a role that is not required and that no column matches."""
    if requested is not None:
        if requested in columns:
            return requested
        matches = case_matches(columns, requested)
        if len(matches) == 1:
            return matches[0]
        if matches:
            raise InputError(
                f"{where}: {listing(matches)} all match {requested!r} but for case; pass the "
                "exact name"
            )
        raise InputError(
            f"{where} has no column {requested!r}; its columns are: {listing(columns)}"
        )
    matches = list(dict.fromkeys(c for c in columns if is_usual(c, role)))
    if len(matches) > 1:  # one name twice is refused later, as a duplicate
        raise InputError(
            f"{where}: the columns {listing(matches)} could each hold {role.what}, so the "
            f"choice is ambiguous; pass {role.option} NAME"
        )
    if matches:
        return matches[0]
    if role.only_column and len(columns) == 1:
        return columns[0]
    if not role.required:
        return None
    raise InputError(
        f"{where}: which column holds {role.what}? None has a usual name for them "
        f"({', '.join(repr(n) for n in role.names)}); its columns are: {listing(columns)}. "
        f"Pass {role.option} NAME"
    )


def is_usual(name: str, role: Role) -> bool:
    """Whether ``name`` is one of ``role``'s usual names (see ``folded``)."""
    return folded(name) in {folded(n) for n in role.names}
