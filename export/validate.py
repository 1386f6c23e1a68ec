"""Numeric checks an export must pass before any file is written.

Each check returns a ``Check`` (name, measured value, limit, pass/fail); ``require`` raises
``ValidationError`` listing every failed check. The limits are the release gates:

- fp32 ONNX vs the masked Keras model: max |Δp| <= 1e-4 and identical labels;
- padding invariance: a review scored alone at its own length, padded to the contract's
  max length, and inside a batch of longer reviews agrees within 1e-5;
- batch-size invariance: batches of 1, 16, 100 and 256 agree within 1e-5;
- int8 vs fp32 on the full test split: accuracy drop <= 0.3 points, label agreement >= 99.5%;
- each raw-text model vs its token-id model on the same batches: max |Δp| <= 1e-6 and
  identical id counts, on the check reviews and on edge cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lstm_sentiment.runtime.contract import pad_batch
from lstm_sentiment.runtime.errors import EXIT_FAILED_GATE, LstmSentimentError
from lstm_sentiment.runtime.metrics import agreement
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.runtime.signature import OUTPUT, TEXT, TOKEN_COUNT

KERAS_TOLERANCE = 1e-4
INVARIANCE_TOLERANCE = 1e-5
MAX_ACCURACY_DROP = 0.003
MIN_AGREEMENT = 0.995
MIN_ACCURACY = 0.6  # below it a model is near chance: refused unless allow_weak


class ValidationError(LstmSentimentError):
    """An exported model failed a numeric gate; nothing was written."""

    exit_code = EXIT_FAILED_GATE


@dataclass
class Check:
    name: str
    value: float
    limit: str
    passed: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def require(checks: Sequence[Check]) -> None:
    failed = [c for c in checks if not c.passed]
    if failed:
        lines = [f"{c.name}: {c.value:.6g} (limit {c.limit})" for c in failed]
        raise ValidationError("export validation failed: " + "; ".join(lines))


def against_keras(
    onnx_scores: np.ndarray, keras_scores: np.ndarray, threshold: float
) -> list[Check]:
    delta = float(np.max(np.abs(onnx_scores - keras_scores))) if len(keras_scores) else 0.0
    same = int(np.sum((onnx_scores >= threshold) != (keras_scores >= threshold)))
    return [
        Check("fp32 vs Keras max abs dp", delta, f"<= {KERAS_TOLERANCE}", delta <= KERAS_TOLERANCE),
        Check("fp32 vs Keras label differences", same, "== 0", same == 0),
    ]


def padding_invariance(model: SentimentModel, texts: Sequence[str]) -> list[Check]:
    """Alone at its own length vs padded to max length vs batched with longer reviews."""
    encoded = model.contract.encode_many(texts)
    alone = np.array([model.score_ids(ids[None, :])[0] for ids in encoded])
    padded, _ = pad_batch(encoded, pad_to=model.contract.max_length)
    at_max = np.concatenate(
        [model.score_ids(padded[i : i + 64]) for i in range(0, len(padded), 64)]
    )
    longest = sorted(encoded, key=len)[-7:]
    in_batch = np.array([model.score_ids(pad_batch([ids, *longest])[0])[0] for ids in encoded])
    worst = max(_max_delta(alone, at_max), _max_delta(alone, in_batch))
    return [
        Check(
            "padding invariance max abs dp",
            worst,
            f"<= {INVARIANCE_TOLERANCE}",
            worst <= INVARIANCE_TOLERANCE,
        )
    ]


def batch_invariance(model: SentimentModel, texts: Sequence[str]) -> list[Check]:
    encoded = model.contract.encode_many(texts)
    runs = [model.score_encoded(encoded, batch_size=size) for size in (1, 16, 100, 256)]
    worst = max(_max_delta(runs[0], other) for other in runs[1:])
    return [
        Check(
            "batch-size invariance max abs dp",
            worst,
            f"<= {INVARIANCE_TOLERANCE}",
            worst <= INVARIANCE_TOLERANCE,
        )
    ]


def above_chance(accuracy: float, allow_weak: bool) -> list[Check]:
    """A model near chance is not exported by mistake (``--allow-weak`` says it is wanted)."""
    limit = f">= {MIN_ACCURACY}" + (" (waived: --allow-weak)" if allow_weak else "")
    return [Check("fp32 test accuracy", accuracy, limit, accuracy >= MIN_ACCURACY or allow_weak)]


def int8_gate(
    labels: np.ndarray, fp32_scores: np.ndarray, int8_scores: np.ndarray, threshold: float
) -> list[Check]:
    fp32_pred, int8_pred = fp32_scores >= threshold, int8_scores >= threshold
    drop = float(np.mean(fp32_pred == labels) - np.mean(int8_pred == labels))
    same = agreement(int8_scores, fp32_scores, threshold)["label_agreement"]
    return [
        Check(
            "int8 accuracy drop vs fp32", drop, f"<= {MAX_ACCURACY_DROP}", drop <= MAX_ACCURACY_DROP
        ),
        Check(
            "int8 label agreement with fp32",
            same,
            f">= {MIN_AGREEMENT}",
            same >= MIN_AGREEMENT,
        ),
    ]


RAW_TEXT_TOLERANCE = 1e-6


def raw_text_agreement(
    raw: SentimentModel, token: SentimentModel, texts: Sequence[str], variant: str
) -> list[Check]:
    """The raw-text model vs its token-id model on the same batches of 64: scores within
    1e-6 and the same id counts. (Same batches: int8 activation scales depend on the batch.)"""
    worst, wrong_counts = 0.0, 0
    for start in range(0, len(texts), 64):
        chunk = list(texts[start : start + 64])
        got, counts = raw.session.run([OUTPUT, TOKEN_COUNT], {TEXT: np.array(chunk, dtype=object)})
        ids, lengths = token.contract.encode_batch(chunk)
        worst = max(worst, _max_delta(got, token.score_ids(ids)))
        wrong_counts += int(np.sum(counts != lengths))
    return [
        Check(
            f"text-{variant} vs {variant} max abs dp",
            worst,
            f"<= {RAW_TEXT_TOLERANCE}",
            worst <= RAW_TEXT_TOLERANCE,
        ),
        Check(f"text-{variant} id counts that differ", wrong_counts, "== 0", wrong_counts == 0),
    ]


def _max_delta(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)))) if len(a) else 0.0
