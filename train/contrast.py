"""Contrast texts: two corpus sentences of opposite sentiment joined so that one carries the
verdict, with that sentence's target.

    from lstm_sentiment.train.contrast import contrasts
    texts, targets = contrasts(["The plot was dull.", "The cast is superb."], [0.1, 0.9],
                               count=2, seed=0)
    # e.g. ['Although the plot was dull, the cast is superb.', ...], [0.9, ...]

A review that concedes a point and then gives its verdict ("the effects are weak, but ...")
is common in IMDb, yet crops of one to three sentences rarely hold both halves, and a
student of them learns to average the two. These texts pair a clearly positive with a
clearly negative one-sentence crop and join them with a concession ("although", "even
though", "while"), a turn ("but", "however", "still", "in the end") or an expectation the
writer gave up ("I thought ...", "I was told ...", "at first ... now ..."). The verdict is the
main clause or the later one, depending on the frame, so that neither position nor polarity
alone gives the answer. A training aid, never shipped.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

import numpy as np

from lstm_sentiment.train.short_texts import sentences

MIN_WORDS, MAX_WORDS = 4, 20
# Targets further than this from 0.5 count as clearly one way.
CLEAR = 0.3
# A sentence that already turns, asks or negates is left alone: joined to another its
# verdict would be no single clause's.
_TURNS = re.compile(
    r"\b(?:but|however|although|though|yet|still|while|whereas|despite|instead|not|no|never"
    r"|nothing)\b|n't|[?;:\"]",
    re.I,
)

# Frames to fill: "v" is the verdict, "c" the conceded part (upper case: a sentence starts).
TURNS: tuple[str, ...] = (
    "{C}, but {v}",
    "{C}. But {v}",
    "{C}. However, {v}",
    "{C}, yet {v}",
    "{C}. Still, {v}",
    "{C}. That said, {v}",
    "{C}. In the end, though, {v}",
    "Although {c}, {v}",
    "Even though {c}, {v}",
    "While {c}, {v}",
    "{V}, although {c}",
    "{V}, even though {c}",
)
# the writer's expectation, given up
EXPECTATIONS: tuple[str, ...] = (
    "I thought {c}. {V}",
    "I was told {c}. {V}",
    "At first I believed {c}. Now I think {v}",
    "I had heard {c}, but {v}",
    "I assumed {c}. I was wrong: {v}",
    "Going in, I felt {c}. By the end, {v}",
)
FRAMES = TURNS + EXPECTATIONS


def contrasts(
    texts: Sequence[str], targets: Sequence[float], count: int, seed: int
) -> tuple[list[str], np.ndarray]:
    """Up to ``count`` contrast texts from the one-sentence ``texts`` whose ``targets`` are
    clear, each with its verdict sentence's target; fewer (none) when either sentiment has
    no such sentence."""
    rng = random.Random(seed)
    positive: list[tuple[str, float]] = []
    negative: list[tuple[str, float]] = []
    for text, target in zip(texts, targets, strict=True):
        bare = _bare(text)
        if bare is not None and abs(float(target) - 0.5) > CLEAR:
            (positive if target > 0.5 else negative).append((bare, float(target)))
    if not positive or not negative:
        return [], np.zeros(0, dtype=np.float32)
    made: list[str] = []
    made_targets: list[float] = []
    for _ in range(count):
        good, bad = rng.choice(positive), rng.choice(negative)
        verdict, conceded = (good, bad) if rng.random() < 0.5 else (bad, good)
        frame = rng.choice(FRAMES)
        if frame in EXPECTATIONS and conceded[0].startswith("I "):
            # "I thought I loved it" reads as no expectation; a turn frame reads right
            frame = rng.choice(TURNS)
        made.append(_join(frame, verdict[0], conceded[0]))
        made_targets.append(verdict[1])
    return made, np.array(made_targets, dtype=np.float32)


def _bare(text: str) -> str | None:
    """The sentence without its end mark, when it is one plain sentence of a usable length."""
    if _TURNS.search(text):
        return None
    found = sentences(text)
    if len(found) != 1:
        return None
    bare = found[0].rstrip(".!").strip()
    if not MIN_WORDS <= len(bare.split()) <= MAX_WORDS or not bare[:1].isalpha():
        return None
    return bare


def _join(frame: str, verdict: str, conceded: str) -> str:
    """The frame filled: an upper-case key starts a sentence, a lower-case one runs on."""
    return (
        frame.format(v=_lower(verdict), V=_upper(verdict), c=_lower(conceded), C=_upper(conceded))
        + "."
    )


def _lower(sentence: str) -> str:
    # "I" and names keep their capital; only a plain first word is lowered
    first = sentence.split(" ", 1)[0]
    return sentence[0].lower() + sentence[1:] if first.lower() in _COMMON_STARTS else sentence


def _upper(sentence: str) -> str:
    return sentence[0].upper() + sentence[1:]


# First words that are lowered when a sentence runs on after a comma; any other capitalised
# first word may be a name and keeps its capital.
_COMMON_STARTS = frozenset(
    [
        "the",
        "this",
        "that",
        "these",
        "those",
        "it",
        "its",
        "a",
        "an",
        "my",
        "our",
        "his",
        "her",
        "their",
        "he",
        "she",
        "they",
        "we",
        "you",
        "there",
        "what",
        "one",
        "some",
        "all",
        "every",
        "most",
        "much",
        "many",
    ]
)
