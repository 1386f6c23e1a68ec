"""Binary classification metrics in plain numpy (shared by evaluation and model comparison)."""

from __future__ import annotations

from typing import Any

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U, ties counted as half); NaN with one class."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    order = np.argsort(scores, kind="mergesort")
    ranks = np.empty(len(scores), dtype=np.float64)
    sorted_scores = scores[order]
    # Average ranks over runs of equal scores.
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_scores)) + 1]
    ends = np.r_[starts[1:], len(scores)]
    for start, end in zip(starts, ends, strict=True):
        ranks[order[start:end]] = (start + end + 1) / 2.0
    u = ranks[labels].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False and true positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    sorted_scores = np.asarray(scores, dtype=np.float64)[order]
    hits = labels[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(sorted_scores)), len(hits) - 1]
    tps = np.cumsum(hits)[last_of_run]
    fps = (last_of_run + 1) - tps
    tpr = np.r_[0.0, tps / max(int(labels.sum()), 1)]
    fpr = np.r_[0.0, fps / max(int((~labels).sum()), 1)]
    return fpr, tpr


CALIBRATION_BINS = 15  # as Guo et al. (ICML 2017) measure expected calibration error


def reliability(
    labels: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS
) -> list[dict[str, float]]:
    """Reviews in ``bins`` equal-width bins of the predicted label's probability
    (``max(p, 1 - p)``, from 0.5 to 1): each non-empty bin's count, mean probability and the
    share of its labels predicted right (a calibrated model has the two equal)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    predicted = scores >= 0.5
    confidence = np.where(predicted, scores, 1 - scores)
    right = predicted == labels
    # Confidence lies in [0.5, 1]; map it onto [0, 1] so the bins cover only what can occur.
    which = np.minimum(((confidence - 0.5) * 2 * bins).astype(int), bins - 1)
    table = []
    for b in range(bins):
        chosen = which == b
        if chosen.any():
            table.append(
                {
                    "n": int(chosen.sum()),
                    "confidence": float(confidence[chosen].mean()),
                    "accuracy": float(right[chosen].mean()),
                }
            )
    return table


def expected_calibration_error(
    labels: np.ndarray, scores: np.ndarray, bins: int = CALIBRATION_BINS
) -> float:
    """The count-weighted mean gap between confidence and accuracy over ``reliability``'s
    bins (0 is perfectly calibrated); NaN for no reviews."""
    table = reliability(labels, scores, bins)
    n = sum(row["n"] for row in table)
    if not n:
        return float("nan")
    return float(sum(row["n"] * abs(row["confidence"] - row["accuracy"]) for row in table) / n)


def brier_score(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean squared difference between P(positive) and the 1/0 label; NaN for no reviews."""
    labels = np.asarray(labels).astype(np.float64)
    if not len(labels):
        return float("nan")
    return float(np.mean((np.asarray(scores, dtype=np.float64) - labels) ** 2))


def accuracy(labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5) -> float:
    """Share of reviews whose label (1/0, or True/False) the score gets right at
    ``threshold``; NaN for no reviews."""
    labels = np.asarray(labels)
    if not len(labels):
        return float("nan")
    return float(np.mean((np.asarray(scores) >= threshold) == (labels >= 0.5)))


def agreement(
    scores: np.ndarray, reference: np.ndarray, threshold: float = 0.5
) -> dict[str, float]:
    """How far ``scores`` are from ``reference`` scores of the same reviews: the share of
    equal labels at ``threshold`` and the max, mean and 99th-percentile |Δp|."""
    scores = np.asarray(scores, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if not len(scores):
        nan = float("nan")
        return {"label_agreement": nan, "max_abs_dp": nan, "mean_abs_dp": nan, "p99_abs_dp": nan}
    delta = np.abs(scores - reference)
    return {
        "label_agreement": float(np.mean((scores >= threshold) == (reference >= threshold))),
        "max_abs_dp": float(delta.max()),
        "mean_abs_dp": float(delta.mean()),
        "p99_abs_dp": float(np.quantile(delta, 0.99)),
    }


def binary_metrics(
    labels: np.ndarray, scores: np.ndarray, threshold: float = 0.5
) -> dict[str, Any]:
    """Accuracy, precision, recall, F1, ROC-AUC, the confusion matrix, and calibration:
    expected calibration error (15 bins of the predicted label's probability, whatever the
    threshold) and Brier score.

    A review is predicted positive when its score is >= ``threshold``.
    """
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    if labels.shape != scores.shape or labels.ndim != 1:
        raise ValueError("labels and scores must be 1-D arrays of the same length")
    predicted = scores >= threshold
    tp = int(np.sum(predicted & labels))
    tn = int(np.sum(~predicted & ~labels))
    fp = int(np.sum(predicted & ~labels))
    fn = int(np.sum(~predicted & labels))
    n = len(labels)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "n": n,
        "threshold": threshold,
        "accuracy": (tp + tn) / n if n else float("nan"),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "roc_auc": roc_auc(labels, scores),
        "ece": expected_calibration_error(labels, scores),
        "brier": brier_score(labels, scores),
        "confusion": {"tn": tn, "fp": fp, "fn": fn, "tp": tp},
    }
