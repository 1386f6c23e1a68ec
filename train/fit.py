"""Train the classifier on the IMDb training split and write a model folder.

    lstm-sentiment train --out runs/textbook            # the textbook recipe, ~15 min on 2 cores
    lstm-sentiment train --out runs/quick --limit-per-label 1000 --max-length 200 --epochs 3

The folder gets: ``model.keras`` (the best epoch by validation loss), ``contract.json`` (the
text contract: the only way text becomes ids), ``config.json`` (the resolved recipe),
``history.json`` and ``history.png`` (loss and accuracy per epoch) and ``training.json``
(time, best epoch, versions).
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
from lstm_sentiment.train.model import build_model, compile_model


@dataclass
class TrainResult:
    out_dir: Path
    contract: TextContract
    history: dict[str, list[float]]
    best_epoch: int  # 1-based
    seconds: float


def subset(reviews: list[imdb.Review], per_label: int, seed: int) -> list[imdb.Review]:
    """A seeded random sample of ``per_label`` reviews of each label."""
    rng = np.random.default_rng(seed)
    chosen: list[imdb.Review] = []
    for label in (1, 0):
        pool = [r for r in reviews if r.label == label]
        picks = rng.permutation(len(pool))[:per_label]
        chosen.extend(pool[i] for i in sorted(picks))
    return chosen


def train(
    config: TrainConfig,
    source: str | Path,
    out_dir: str | Path,
    say: Callable[[str], None] = lambda message: print(message, file=sys.stderr, flush=True),
) -> TrainResult:
    """Train by ``config`` on the training split found at ``source``; write ``out_dir``.

    A recipe with a teacher (the release recipe) trains through ``distill``; it resumes an
    unfinished run of the same config in ``out_dir``.
    """
    out = Path(out_dir)
    if config.distils:
        return _train_distilled(config, source, out, say)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()

    reviews = imdb.load_split(source, "train", check_counts=config.limit_per_label is None)
    if config.limit_per_label is not None:
        reviews = subset(reviews, config.limit_per_label, config.seed)
    texts = [r.text for r in reviews]
    labels = np.array([r.label for r in reviews], dtype=np.float32)

    contract = TextContract.from_texts(
        texts, config.vocab_size, config.max_length, config.keep, config.contract_version
    )
    ids, _ = contract.encode_batch(texts, pad_to=config.max_length)

    # The split is sorted by label: shuffle before holding out the validation share, or the
    # held-out part would be a single class (Keras' validation_split takes the tail as is).
    order = np.random.default_rng(config.seed).permutation(len(texts))
    n_val = max(1, int(round(len(order) * config.validation_split)))
    val, fit = order[:n_val], order[n_val:]

    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    model = build_model(config, contract.vocab_size)
    compile_model(model, config, steps_per_epoch=-(-len(fit) // config.batch_size))
    best = _BestEpoch()
    history = model.fit(
        ids[fit],
        labels[fit],
        validation_data=(ids[val], labels[val]),
        epochs=config.epochs,
        batch_size=config.batch_size,
        shuffle=True,
        callbacks=[
            best.callback(),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=config.patience),
        ],
        verbose=1 if sys.stdout.isatty() else 2,
    ).history
    best.restore(model)
    seconds = time.perf_counter() - started
    info = {"train_reviews": len(fit), "validation_reviews": len(val)}
    return _write_run(out, model, contract, config, history, best.epoch, seconds, info)


def _write_run(
    out: Path,
    model: Any,
    contract: TextContract,
    config: TrainConfig,
    history: dict[str, list[float]],
    best_epoch: int,
    seconds: float,
    info: dict[str, Any],
) -> TrainResult:
    model.save(out / "model.keras")
    contract.save(out / "contract.json")
    config.save(out / "config.json")
    history = {key: [float(v) for v in values] for key, values in history.items()}
    (out / "history.json").write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")
    info = {
        "recipe": config.recipe,
        "best_epoch": best_epoch,
        "seconds": round(seconds, 1),
        **info,
        "vocab_size": contract.vocab_size,
        "versions": versions(),
    }
    (out / "training.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    from lstm_sentiment.train.plots import plot_history

    plot_history(history, best_epoch, out / "history.png")
    return TrainResult(out, contract, history, best_epoch, seconds)


def _train_distilled(
    config: TrainConfig, source: str | Path, out: Path, say: Callable[[str], None]
) -> TrainResult:
    from lstm_sentiment.train import distill

    resuming = distill.check_resumable(out, config)
    out.mkdir(parents=True, exist_ok=True)
    config.save(out / "config.json")
    started = time.perf_counter()
    say(("resuming" if resuming else "starting") + f" the {config.recipe} recipe in {out}")
    full = config.limit_per_label is None
    labelled = imdb.load_split(source, "train", check_counts=full)
    if not full:
        labelled = subset(labelled, config.limit_per_label, config.seed)
    unlabelled: list[imdb.Review] = []
    if config.unlabelled:
        unlabelled = imdb.load_split(
            source, "unsup", check_counts=full and not config.unlabelled_limit
        )
        if config.unlabelled_limit is not None:
            pick = np.random.default_rng(config.seed).permutation(len(unlabelled))
            unlabelled = [unlabelled[i] for i in sorted(pick[: config.unlabelled_limit])]
    corpus = distill.build_corpus(config, labelled, unlabelled, out / distill.TEACHER_FILE, say)
    figures = corpus.teacher_figures
    say(
        f"teacher: validation accuracy {figures['validation_accuracy']:.4f}, "
        f"short {figures['validation_short_accuracy']:.4f}"
    )
    # The vocabulary comes from every text the student reads whole: labelled and unlabelled.
    n_reviews = corpus.kinds["labelled"] + corpus.kinds["unlabelled"]
    contract = TextContract.from_texts(
        corpus.texts[:n_reviews],
        config.vocab_size,
        config.max_length,
        config.keep,
        config.contract_version,
    )
    model, history, best_epoch = distill.fit_student(config, contract, corpus, out, say)
    seconds = time.perf_counter() - started
    info = {
        "train_reviews": corpus.kinds["labelled"],
        "validation_reviews": len(corpus.val_texts),
        "student_texts": corpus.kinds,
        "teacher": {
            "kind": "NB-weighted binary 1-3-gram logistic regression (C=0.4)",
            "folds": config.teacher_folds,
            **corpus.teacher_figures,
        },
        "resumed": resuming,
    }
    result = _write_run(out, model, contract, config, history, best_epoch, seconds, info)
    for finished in (distill.CHECKPOINT_DIR, distill.EPOCHS_DIR):
        shutil.rmtree(out / finished, ignore_errors=True)
    return result


def versions() -> dict[str, str]:
    import keras
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


class _BestEpoch:
    """Keeps the weights of the epoch with the lowest validation loss, to restore at the end.

    Keras' own ``restore_best_weights`` only acts when early stopping fires, so a run that
    goes all epochs would keep the last epoch rather than the best.
    """

    def __init__(self) -> None:
        self.loss = float("inf")
        self.epoch = 0
        self.weights: list[Any] | None = None

    def callback(self) -> Any:
        import keras

        keeper = self

        class Keep(keras.callbacks.Callback):
            def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                loss = (logs or {}).get("val_loss", float("inf"))
                if loss < keeper.loss:
                    keeper.loss, keeper.epoch = loss, epoch + 1
                    keeper.weights = self.model.get_weights()

        return Keep()

    def restore(self, model: Any) -> None:
        if self.weights is not None:
            model.set_weights(self.weights)
