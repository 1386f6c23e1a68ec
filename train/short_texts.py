"""Short texts cut from reviews: training crops and the short-review evaluation set.

Whole IMDb reviews average about 230 words, so a model trained on them alone learns little
about one- or two-sentence reviews. The release recipe adds crops (1-3 consecutive sentences
of a review, scored by the teacher), and every model is also measured on short reviews: the
last two sentences of reviews rated 1-2 or 9-10 stars, where the verdict is clear enough for
the review's label to hold for its ending.

    from lstm_sentiment.train.short_texts import crops, short_reviews
    texts, parents = crops(review_texts, per_review=1, seed=0)
    short = short_reviews(imdb.load_split(source, "test"))   # [(text, label), ...]
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from lstm_sentiment.runtime.contract import LINE_BREAK_PATTERN, tokenize

_BREAK = re.compile(LINE_BREAK_PATTERN, re.IGNORECASE)
# A sentence ends at . ! ? (maybe closed by a quote or bracket) before a space.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+")

SHORT_MIN_WORDS = 4
SHORT_MAX_WORDS = 80


def sentences(text: str) -> list[str]:
    """A review's sentences, in order; line breaks end a sentence too."""
    found: list[str] = []
    for block in _BREAK.split(text):
        found.extend(s.strip() for s in _SENTENCE_END.split(block) if s.strip())
    return found


def crops(
    texts: Sequence[str], per_review: int = 1, seed: int = 0, min_words: int = 3
) -> tuple[list[str], np.ndarray]:
    """``per_review`` random runs of 1-3 consecutive sentences from each text.

    Returns the crops and, for each, the index of the text it was cut from. Crops with fewer
    than ``min_words`` tokens are left out, so a text may give fewer crops.
    """
    rng = np.random.default_rng(seed)

    def cut() -> Iterator[tuple[int, str]]:
        for index, text in enumerate(texts):
            parts = sentences(text)
            for _ in range(per_review if parts else 0):
                size = int(rng.integers(1, 4))
                start = int(rng.integers(0, max(1, len(parts) - size + 1)))
                yield index, " ".join(parts[start : start + size])

    return _long_enough(cut(), min_words)


def endings(
    texts: Sequence[str], seed: int = 0, min_words: int = 3
) -> tuple[list[str], np.ndarray]:
    """The last 1-3 sentences (a random count) of each text, with the index of its text.

    Reviewers tend to sum up at the end, and short reviews read like such verdicts, so the
    release recipe can train on endings as well as on crops from anywhere. Endings with fewer
    than ``min_words`` tokens are left out.
    """
    rng = np.random.default_rng(seed)
    cut = ((index, ending(text, int(rng.integers(1, 4)))) for index, text in enumerate(texts))
    return _long_enough(cut, min_words)


def _long_enough(cut: Iterable[tuple[int, str]], min_words: int) -> tuple[list[str], np.ndarray]:
    """The cut texts of at least ``min_words`` tokens, and the index of the text of each."""
    kept = [(index, text) for index, text in cut if len(tokenize(text)) >= min_words]
    return [text for _, text in kept], np.array([i for i, _ in kept], dtype=np.int64)


def ending(text: str, count: int = 2) -> str:
    """The last ``count`` sentences of a text."""
    return " ".join(sentences(text)[-count:])


def short_reviews(reviews: Sequence[object]) -> list[tuple[str, int]]:
    """The short-review set: endings of reviews rated 1-2 or 9-10 stars, with their label.

    ``reviews`` are ``imdb.Review`` records (anything with ``text``, ``rating`` and
    ``label``). Endings of fewer than 4 or more than 80 words are left out.
    """
    chosen: list[tuple[str, int]] = []
    for review in reviews:
        rating = review.rating  # type: ignore[attr-defined]
        # Files without star ratings (rating 0: a user's own data) give no short set.
        if review.label is None or not (1 <= rating <= 2 or 9 <= rating <= 10):  # type: ignore[attr-defined]
            continue
        text = ending(review.text)  # type: ignore[attr-defined]
        if SHORT_MIN_WORDS <= len(tokenize(text)) <= SHORT_MAX_WORDS:
            chosen.append((text, int(review.label)))  # type: ignore[attr-defined]
    return chosen
