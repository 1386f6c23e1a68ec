"""Evaluate a trained model folder on a labelled IMDb split (the test split by default).

    lstm-sentiment evaluate runs/textbook

Writes ``evaluation.json`` (accuracy, precision, recall, F1, ROC-AUC, confusion matrix) and
``evaluation.png`` (confusion matrix and ROC curve) into the model folder.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.runtime.metrics import binary_metrics, roc_curve
from lstm_sentiment.train import imdb
from lstm_sentiment.train.datasets import Dataset, ImdbData
from lstm_sentiment.train.model import load_model


def predict(
    model: Any, contract: TextContract, texts: list[str], batch_size: int = 256
) -> np.ndarray:
    """Positive-class probabilities from the Keras model, encoded through the contract."""
    ids, _ = contract.encode_batch(texts, pad_to=contract.max_length)
    return model.predict(ids, batch_size=batch_size, verbose=0).reshape(-1).astype(np.float64)


def evaluate(
    model_dir: str | Path,
    data: Dataset | str | Path,
    split: str = "test",
    limit_per_label: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Score ``split`` (test, or train: the training rows) of ``data`` (a ``datasets`` source
    or the IMDb archive's path) with the folder's Keras model; write and return the metrics."""
    folder = Path(model_dir)
    contract = TextContract.load(folder / "contract.json")
    model = load_model(folder / "model.keras")
    if isinstance(data, str | Path):
        data = ImdbData(Path(data), check_counts=limit_per_label is None)
    splits = {"test": data.test, "train": data.labelled}
    if split not in splits:
        raise imdb.DataError(f"cannot evaluate on {split!r}: choose test or train (labelled)")
    reviews = splits[split]()
    if limit_per_label is not None:
        from lstm_sentiment.train.samplers import subset

        reviews = subset(reviews, limit_per_label, seed)
    labels = np.array([r.label for r in reviews])
    scores = predict(model, contract, [r.text for r in reviews])
    metrics = binary_metrics(labels, scores)
    metrics["split"] = split
    (folder / "evaluation.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    from lstm_sentiment.train.plots import plot_evaluation

    fpr, tpr = roc_curve(labels, scores)
    plot_evaluation(metrics, fpr, tpr, folder / "evaluation.png")
    return metrics
