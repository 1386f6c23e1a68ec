"""Train the classifier on the IMDb training split and write a model folder.

    lstm-sentiment train --out runs/textbook            # the textbook recipe
    lstm-sentiment train --out runs/quick --limit-per-label 1000 --max-length 200 --epochs 3

The folder gets: ``model.keras`` (the best epoch by validation loss), ``contract.json`` (the
text contract: the only way text becomes ids), ``config.json`` (the resolved recipe),
``history.json`` and ``history.png`` (loss and accuracy per epoch) and ``training.json``
(time, best epoch, versions). While it trains, ``checkpoint/``, ``epochs/`` and
``progress.json`` let the same command resume it (``train/distill.py``).
"""

from __future__ import annotations

import json
import platform
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.train import imdb
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.datasets import DATA_FILE, Dataset, ImdbData
from lstm_sentiment.train.samplers import subset
from lstm_sentiment.train.teacher import TEACHERS


@dataclass
class TrainResult:
    out_dir: Path
    contract: TextContract
    history: dict[str, list[float]]
    best_epoch: int  # 1-based
    seconds: float


def train(
    config: TrainConfig,
    data: Dataset | str | Path,
    out_dir: str | Path,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> TrainResult:
    """Train by ``config`` on ``data`` (a ``datasets`` source, or the path of the IMDb
    archive); write ``out_dir``. Every recipe runs the same loop (``distill.fit_student``):
    the textbook recipe is the release loop without teacher, crops or word vectors. An
    unfinished run of the same config in ``out_dir`` is resumed after its last epoch."""
    from lstm_sentiment.train import distill

    out = Path(out_dir)
    if isinstance(data, str | Path):
        complete = config.limit_per_label is None and config.unlabelled_limit is None
        data = ImdbData(Path(data), check_counts=complete)
    resuming = distill.check_resumable(out, config)
    out.mkdir(parents=True, exist_ok=True)
    config.save(out / "config.json")
    started = time.perf_counter()
    say(("resuming" if resuming else "starting") + f" the {config.recipe} recipe in {out}")
    corpus = distill.build_corpus(
        config,
        labelled_reviews(data, config),
        _unlabelled_reviews(data, config),
        out / distill.TEACHER_FILE,
        say,
        data.validation(),
    )
    if config.distils:
        figures = corpus.teacher_figures
        say(
            f"teacher: validation accuracy {figures['validation_accuracy']:.4f}, "
            f"short {figures['validation_short_accuracy']:.4f}"
        )
    # The vocabulary comes from every text the student reads whole: labelled and unlabelled.
    n_reviews = corpus.kinds["labelled"] + corpus.kinds.get("unlabelled", 0)
    contract = TextContract.from_texts(
        corpus.texts[:n_reviews],
        config.vocab_size,
        config.max_length,
        config.keep,
        config.contract_version,
    )
    model, history, best_epoch = distill.fit_student(config, contract, corpus, out, say)
    seconds = time.perf_counter() - started
    info: dict[str, Any] = {
        "train_reviews": corpus.kinds["labelled"],
        "validation_reviews": len(corpus.val_texts),
    }
    if config.distils:
        info["student_texts"] = corpus.kinds
        info["teacher"] = {
            "kind": TEACHERS[config.teacher],
            "folds": config.teacher_folds,
            **corpus.teacher_figures,
        }
    info["resumed"] = resuming
    result = _write_run(out, model, contract, config, data, history, best_epoch, seconds, info)
    for finished in (distill.CHECKPOINT_DIR, distill.EPOCHS_DIR):
        shutil.rmtree(out / finished, ignore_errors=True)
    return result


def _unlabelled_reviews(data: Dataset, config: TrainConfig) -> list[imdb.Review]:
    """The unlabelled reviews the recipe reads (none without a teacher)."""
    if not config.unlabelled:
        return []
    unlabelled = data.unlabelled()
    if config.unlabelled_limit is not None:
        pick = np.random.default_rng(config.seed).permutation(len(unlabelled))
        unlabelled = [unlabelled[i] for i in sorted(pick[: config.unlabelled_limit])]
    return unlabelled


def labelled_reviews(data: Dataset, config: TrainConfig) -> list[imdb.Review]:
    """The labelled training rows, sampled down when the config asks for a subset."""
    reviews = data.labelled()
    if config.limit_per_label is not None:
        reviews = subset(reviews, config.limit_per_label, config.seed)
    return reviews


def _write_run(
    out: Path,
    model: Any,
    contract: TextContract,
    config: TrainConfig,
    data: Dataset,
    history: dict[str, list[float]],
    best_epoch: int,
    seconds: float,
    info: dict[str, Any],
) -> TrainResult:
    model.save(out / "model.keras")
    contract.save(out / "contract.json")
    config.save(out / "config.json")
    described = data.describe()
    (out / DATA_FILE).write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
    history = {key: [float(v) for v in values] for key, values in history.items()}
    (out / "history.json").write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")
    info = {
        "recipe": config.recipe,
        "best_epoch": best_epoch,
        "seconds": round(seconds, 1),
        **info,
        "data": data_summary(described),
        "vocab_size": contract.vocab_size,
        "versions": versions(),
    }
    (out / "training.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    from lstm_sentiment.train.plots import plot_history

    plot_history(history, best_epoch, out / "history.png")
    return TrainResult(out, contract, history, best_epoch, seconds)


def data_summary(described: dict[str, Any]) -> dict[str, Any]:
    """What the card and the model's metadata say of the data: names, never local paths."""
    if described["kind"] != "file":
        return {"kind": described["kind"], "labels": described["labels"]}
    train = described["train"]
    return {
        "kind": "file",
        "file": Path(train["path"]).name,
        "labels": described["labels"],
        "text_column": train["text_column"],
        "label_column": train["label_column"],
        "rows": described["rows"],
        "left_out": len(train["problems"]),
        "test": Path(described["test"]["path"]).name
        if "path" in described["test"]
        else f"{described['test']['held_out_share']:.0%} of the file, held out",
        "unlabelled": Path(described["unlabelled"]["path"]).name
        if described.get("unlabelled")
        else None,
    }


def versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }
