"""Why a review got its score: the words that moved it most.

    from lstm_sentiment.runtime.model import SentimentModel
    model = SentimentModel.load("fp32")
    model.explain(["Not bad at all, a fine film."], top=3)
    # [{'text': ..., 'score': 0.93, 'label': 'positive', 'error': '',
    #   'explanation': [{'word': 'fine', 'start': 16, 'end': 20, 'effect': 1.84}, ...]}]

Two methods, one shape of result (``word`` exactly as written, ``start``/``end``
character offsets with ``text[start:end] == word``, ``effect`` in the score's logit, above 0
toward the positive label):

- ``pass`` (the default): one pass of the model gives, at every word, the logit the review
  would have if it ended there (the ``token_effects`` output, ``export/effects.py``); a
  word's effect is how much reading it changed that logit, discounted by exp(-d /
  RECENCY_WORDS) for a word d words before the last one the model read: the network
  forgets, so a change made long before the end moves the final score less, and the
  discount ranks the words whose deletion moves it most better than the bare change. As
  cheap as scoring. Files exported before the output existed cannot give it.
- ``occlusion`` (exact): each word removed in turn and the review scored again; its effect is
  how much the logit drops without it. One review of n words costs n + 1 reviews' scoring:
  for a person reading one review, not for a file. Works with every model.

``benchmarks/faithfulness.py`` measures how well each method finds the words that matter.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy loads with the model, not with the CLI's --help, which names Method
    import numpy as np

    from lstm_sentiment.runtime.contract import TextContract
    from lstm_sentiment.runtime.model import SentimentModel

_EDGE = 1e-7  # float32 probabilities of 0 or 1 have no finite logit
# Chosen on training reviews, never the test split (``python -m benchmarks.faithfulness
# --split train --recency 0,100,150,200,300``): 150-300 moved the logit on deleting the top 3
# words about equally far, 10% further than no discount. The browser page uses the same.
RECENCY_WORDS = 200.0


class Method(str, Enum):
    """How word effects are found (the module docstring)."""

    PASS = "pass"
    OCCLUSION = "occlusion"


# A word's effect, as every output holds it: {"word": str, "start": int, "end": int,
# "effect": float}. Plain dicts, as ``scorer batch`` writes one for every word it names.
Word = dict[str, Any]


def logit(scores: np.ndarray) -> np.ndarray:
    import numpy as np

    p = np.clip(np.asarray(scores, dtype=np.float64), _EDGE, 1 - _EDGE)
    return np.log(p) - np.log1p(-p)


def kept_spans(text: str, contract: TextContract, kept: int) -> list[tuple[int, int]]:
    """The spans of the ``kept`` tokens the model read, in order: those the contract's
    truncation keeps (the last ones under ``keep="last"``)."""
    from lstm_sentiment.runtime.contract import token_spans

    spans = token_spans(text, contract.version)
    if len(spans) <= kept:
        return spans
    return spans[-kept:] if contract.keep == "last" else spans[:kept]


def strongest(
    text: str, spans: Sequence[tuple[int, int]], effects: Any, top: int | None
) -> list[Word]:
    """The ``top`` words by the size of their effect (all with None), strongest first;
    equal sizes keep the review's order. ``scorer batch`` explains every record, so this is
    its hot path (numpy picks the top words)."""
    import numpy as np

    sizes = np.abs(np.asarray(effects, dtype=np.float64)[: len(spans)])
    if top is not None and top < len(sizes):
        # The top words by size, ties to the earlier word (a stable sort of a short list).
        cut = np.partition(sizes, len(sizes) - top)[len(sizes) - top]
        candidates = np.flatnonzero(sizes >= cut)
    else:
        candidates = np.arange(len(sizes))
    order = candidates[np.argsort(-sizes[candidates], kind="stable")][:top]
    words = []
    for i in order.tolist():
        start, end = spans[i]
        words.append(
            {"word": text[start:end], "start": start, "end": end,
             "effect": round(float(effects[i]), 4)}
        )  # fmt: skip
    return words


def from_pass(text: str, row: np.ndarray, contract: TextContract, top: int | None) -> list[Word]:
    """``top`` words of one review from its ``token_effects`` row (one value per id, the
    start id first), each change discounted by its distance from the end."""
    return strongest(text, kept_spans(text, contract, len(row) - 1), discounted(row[1:]), top)


def discounted(changes: Any, words: float = RECENCY_WORDS) -> np.ndarray:
    """Each word's change times exp(-d / ``words``), d words before the last one."""
    import numpy as np

    values = np.asarray(changes, dtype=np.float64)
    distance = np.arange(len(values) - 1, -1, -1, dtype=np.float64)
    return values * np.exp(-distance / words)


def by_occlusion(model: SentimentModel, text: str, top: int | None) -> list[Word]:
    """``top`` words of one review by occlusion: each word's span replaced by a space (which
    keeps its neighbours apart) and the review scored again."""
    contract = model.contract
    spans = kept_spans(text, contract, contract.max_length - 1)  # words it never reads: 0
    if not spans:
        return []
    import numpy as np

    variants = [text] + [text[:start] + " " + text[end:] for start, end in spans]
    logits = logit(model.score(variants))
    # A variant with no word left has no score (NaN): its word carried the whole review.
    whole = logits[0]
    without = np.where(np.isnan(logits[1:]), 0.0, logits[1:])
    return strongest(text, spans, whole - without, top)
