"""Compare models on a labelled file: the library function behind ``scorer compare``.

The labelled file is read whole (texts and labels) so every model scores the same reviews;
records that cannot be scored (an empty review, a malformed row) are left out of every
model's figures and counted as ``skipped``.
"""

from __future__ import annotations

import dataclasses
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.labels import LabelReader, label_text, order_labels
from lstm_sentiment.runtime.metrics import agreement, binary_metrics, reliability
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.runtime.readers import InputSpec, open_input
from lstm_sentiment.runtime.signature import DEFAULT_LABELS


class CompareError(LstmSentimentError):
    """The labelled file cannot be used for a comparison."""


@dataclass
class Comparison:
    """What ``compare_models`` measured: the report (figures only, as ``--json`` prints it),
    and each model's scores with the true labels of the reviews they scored (for plots)."""

    report: dict[str, Any]
    scores: list[np.ndarray]
    labels: np.ndarray


def read_labelled(
    spec: InputSpec,
    label_column: str,
    names: tuple[str, str] = DEFAULT_LABELS,
    positive: str | None = None,
) -> tuple[list[str], np.ndarray, int]:
    """Texts, labels and the number of records skipped because they cannot be scored.

    Labels are read by the label ``names`` (negative first) and their obvious spellings; with
    ``positive``, that value of the column is the positive class and the one other value the
    negative one, whatever the names."""
    labelled = InputSpec(spec.path, dataclasses.replace(spec.options, label_column=label_column))
    texts, values, places, skipped = [], [], [], 0
    with open_input(labelled) as source:
        for record in source:
            if record.error:
                skipped += 1
                continue
            texts.append(record.text)
            values.append(record.label)
            places.append(record.where)
    if not texts:
        raise CompareError(f"{spec.path} has no labelled reviews to compare on")
    if positive is not None:
        present = Counter(label_text(v) for v in values if label_text(v) is not None)
        names = order_labels(present, positive, label_column)
    read_label = LabelReader(names)
    labels = [read_label(value, where) for value, where in zip(values, places, strict=True)]
    return texts, np.array(labels, dtype=bool), skipped  # type: ignore[return-value]


def compare_models(
    spec: InputSpec,
    label_column: str,
    models: list[SentimentModel],
    names: list[str],
    positive: str | None = None,
    threshold: float | None = None,
) -> Comparison:
    """Each model's figures on a labelled file (``read_labelled``), labelled at ``threshold``
    (default: each model's own)."""
    label_names = {model.labels for model in models}
    if len(label_names) > 1:
        raise CompareError(
            "the models name their labels differently ("
            + "; ".join(" / ".join(pair) for pair in sorted(label_names))
            + "): they were not trained for the same task"
        )
    texts, labels, skipped = read_labelled(spec, label_column, label_names.pop(), positive)
    timed = []
    for model in models:
        model.score(texts[:16])  # warm-up, so the first model is not timed with session start-up
        started = time.perf_counter()
        scores = model.score(texts)
        timed.append((scores, time.perf_counter() - started))
    # A review some model reads no word of has no score from it (NaN): it leaves every
    # model's figures, as it becomes an error record in scorer batch.
    readable = ~np.any([np.isnan(scores) for scores, _ in timed], axis=0)
    skipped += int(np.sum(~readable))
    labels = labels[readable]
    if not len(labels):
        raise CompareError(f"{spec.path} has no review the models can score")
    report: dict[str, Any] = {"reviews": len(labels), "skipped": skipped, "models": []}
    reference: np.ndarray | None = None
    all_scores = []
    for name, model, (scores, seconds) in zip(names, models, timed, strict=True):
        scores = scores[readable]
        cut = model.label_rule(threshold).threshold
        metrics = binary_metrics(labels, scores, cut)
        entry: dict[str, Any] = {
            "name": name,
            "path": str(model.path),
            "bytes": model.path.stat().st_size,
            "reviews_per_second": round(len(texts) / seconds, 1) if seconds else None,
            **{
                k: metrics[k]
                for k in ("accuracy", "precision", "recall", "f1", "roc_auc", "ece", "brier")
            },
            "confusion": metrics["confusion"],
        }
        if reference is None:
            reference = scores
        else:
            against = agreement(scores, reference, cut)
            entry["agreement_with_first"] = against["label_agreement"]
            entry["mean_abs_dp"] = against["mean_abs_dp"]
            entry["max_abs_dp"] = against["max_abs_dp"]
        report["models"].append(entry)
        all_scores.append(scores)
    return Comparison(report, all_scores, labels)


def render_table(report: dict[str, Any]) -> str:
    head = (
        "model",
        "accuracy",
        "precision",
        "recall",
        "F1",
        "ROC-AUC",
        "ECE",
        "Brier",
        "agree",
        "mean|Δp|",
        "max|Δp|",
        "MB",
        "reviews/s",
    )
    rows = [head]
    for m in report["models"]:
        rows.append(
            (
                m["name"],
                f"{m['accuracy']:.4f}",
                f"{m['precision']:.4f}",
                f"{m['recall']:.4f}",
                f"{m['f1']:.4f}",
                f"{m['roc_auc']:.4f}",
                f"{m['ece']:.2%}",
                f"{m['brier']:.4f}",
                _share(m["agreement_with_first"]) if "agreement_with_first" in m else "-",
                f"{m['mean_abs_dp']:.5f}" if "mean_abs_dp" in m else "-",
                f"{m['max_abs_dp']:.4f}" if "max_abs_dp" in m else "-",
                f"{m['bytes'] / 1e6:.2f}",
                f"{m['reviews_per_second']:,.0f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows]
    footer = _count(report["reviews"], "labelled review")
    if report["skipped"]:
        footer += f"; {_count(report['skipped'], 'record')} skipped (no scorable review)"
    return "\n".join([*lines, footer])


def _share(value: float) -> str:
    """A share in percent with two decimals that never rounds a disagreement away."""
    shown = f"{value:.2%}"
    if value < 1 and shown == "100.00%":
        return ">99.99%"
    return "100%" if value == 1 else shown


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


def require_matplotlib() -> Any:
    """matplotlib, or a ``CompareError`` saying how to install it (checked before any work)."""
    try:
        import matplotlib
    except ImportError:
        raise CompareError("--plot needs matplotlib: pip install 'lstm-sentiment[plot]'") from None
    return matplotlib


def plot_comparison(comparison: Comparison, path: Path) -> None:
    """Scores of the first two models against each other, and each model's reliability."""
    matplotlib = require_matplotlib()
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scores, labels = comparison.scores, comparison.labels
    names = [m["name"] for m in comparison.report["models"]]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.5))
    if len(scores) >= 2:
        left.scatter(scores[0], scores[1], s=2, alpha=0.3)
        left.plot([0, 1], [0, 1], color="grey", linestyle=":")
        left.set_xlabel(f"{names[0]} score")
        left.set_ylabel(f"{names[1]} score")
        left.set_title(f"{names[1]} vs {names[0]}")
    else:
        left.hist(scores[0], bins=50)
        left.set_title(f"{names[0]} scores")
    for name, s in zip(names, scores, strict=True):
        table = reliability(labels, s)  # the bins the ECE column is measured on
        right.plot([r["confidence"] for r in table], [r["accuracy"] for r in table], "-o",
                   label=name)  # fmt: skip
    right.plot([0.5, 1], [0.5, 1], color="grey", linestyle=":", label="perfectly calibrated")
    right.set_xlabel("probability of the predicted label (mean in bin)")
    right.set_ylabel("share of labels right")
    right.set_title("reliability")
    right.legend()
    fig.suptitle(f"{', '.join(names)} on {_count(comparison.report['reviews'], 'labelled review')}")
    fig.tight_layout()
    try:
        fig.savefig(path, dpi=100)
    except OSError as error:
        raise CompareError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        plt.close(fig)
