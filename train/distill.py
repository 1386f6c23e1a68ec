"""Train the release recipe: the textbook network distilled from an n-gram teacher.

    lstm-sentiment train --recipe release --out runs/release     # < 1 h on 2 cores, resumable
    lstm-sentiment train --recipe release --out runs/quick --limit-per-label 500 \\
        --unlabelled-limit 2000 --epochs 2

The student learns soft targets: on the labelled reviews a mix of the true label and the
score of a teacher that never saw that review (cross-fitted, ``train/teacher.py``); on the
unlabelled reviews, the teacher's score; on crops of every review (a run of 1-3 sentences,
and with ``ending_crops`` its last 1-3 sentences), the teacher's score of the crop mixed with
the whole review's target as ``crop_label_weight``/``crop_review_weight`` say. A share of
the labelled reviews is held out before anything is fitted, teacher included, and chooses the
epoch. Batches hold reviews of similar length, padded only to their longest, which roughly
halves an epoch; the masked LSTMs make the result independent of that padding.

The run folder gets what ``fit.train`` writes, plus ``teacher.npz`` (the teacher's scores,
reused when a run resumes) and, while training, ``checkpoint/`` (weights, optimizer state and
the epoch, after every epoch). Started again with the same config, a run resumes after its
last finished epoch; with another config, it refuses.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.metrics import accuracy
from lstm_sentiment.train import imdb
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.samplers import hold_out
from lstm_sentiment.train.short_texts import crops, endings, short_reviews
from lstm_sentiment.train.teacher import cross_fit

TEACHER_FILE = "teacher.npz"
CHECKPOINT_DIR = "checkpoint"  # Keras' BackupAndRestore: weights, optimizer, epoch
EPOCHS_DIR = "epochs"  # each finished epoch's weights, to keep the best one
PROGRESS_FILE = "progress.json"


class RunError(LstmSentimentError):
    """A run folder or the data given cannot be used for this run."""


@dataclass
class Corpus:
    """Everything the student trains and is chosen on, as texts with targets."""

    texts: list[str]  # labelled (fit part), unlabelled, crops, counterfactuals, contrasts, suite
    targets: np.ndarray  # float32 soft targets
    kinds: dict[str, int]  # how many texts of each kind, in that order
    val_texts: list[str]
    val_labels: np.ndarray
    val_short: list[tuple[str, int]]
    teacher_figures: dict[str, float]


def build_corpus(
    config: TrainConfig,
    labelled: Sequence[imdb.Review],
    unlabelled: Sequence[imdb.Review],
    cache: Path | None,
    say: Callable[[str], None],
    validation: Sequence[imdb.Review] | None = None,
) -> Corpus:
    """Hold out validation reviews (unless ``validation`` gives them), then give every text
    its target: the label alone without a teacher (the textbook recipe), else the teacher's
    mix (scores reused from ``cache`` when made from the same data and config)."""
    val, fit = split_validation(config, labelled, validation)
    fit_texts = [r.text for r in fit]
    fit_labels = np.array([r.label for r in fit], dtype=np.float32)
    val_texts, val_short = [r.text for r in val], short_reviews(val)
    val_labels = np.array([r.label for r in val], dtype=np.float32)
    if not config.distils:
        kinds = {"labelled": len(fit_texts)}
        return Corpus(fit_texts, fit_labels, kinds, val_texts, val_labels, val_short, {})
    free_texts = [r.text for r in unlabelled] if config.unlabelled else []
    if config.unlabelled and not free_texts:
        raise RunError("the recipe learns from unlabelled reviews, but none were found")
    fit_crops, fit_parents = _cut(fit_texts, config, config.seed)
    free_crops, free_parents = _cut(free_texts, config, config.seed + 1)
    parts = _Parts(fit_texts, fit_labels, free_texts, fit_crops, fit_parents, free_crops,
                   free_parents, val_texts, val_short)  # fmt: skip
    scores = _teacher_scores(config, parts, cache, say)
    texts, targets = _targets(config, parts, scores, say)
    turned, turned_targets = _counterfactual_texts(config, fit_texts + free_texts, say)
    crops_start = len(fit_texts) + len(free_texts)
    joined, joined_targets = _contrast_texts(
        config, texts[crops_start:], targets[crops_start:], say
    )
    suite_texts, suite_targets = _suite_texts(config)
    texts = texts + turned + joined + suite_texts
    targets = np.concatenate([targets, turned_targets, joined_targets, suite_targets])
    short_labels = np.array([label for _, label in val_short])
    figures = {
        "validation_accuracy": accuracy(val_labels, scores["validation"]),
        "validation_short_accuracy": accuracy(short_labels, scores["validation_short"]),
        "labelled_oof_accuracy": accuracy(fit_labels, scores["labelled"]),
    }
    kinds = {
        "labelled": len(fit_texts),
        "unlabelled": len(free_texts),
        "labelled_crops": len(fit_crops),
        "unlabelled_crops": len(free_crops),
        **({"counterfactual": len(turned)} if turned else {}),
        **({"contrast": len(joined)} if joined else {}),
        **({"suite": len(suite_texts)} if suite_texts else {}),
    }
    return Corpus(texts, targets, kinds, val_texts, val_labels, val_short, figures)


def split_validation(
    config: TrainConfig,
    labelled: Sequence[imdb.Review],
    validation: Sequence[imdb.Review] | None = None,
) -> tuple[list[imdb.Review], list[imdb.Review]]:
    """(validation, training) reviews: ``validation`` when the data brings its own, else the
    config's seeded share of ``labelled``; the export finds a run's validation reviews so."""
    if validation is not None:
        return list(validation), list(labelled)
    val_idx, fit_idx = hold_out(len(labelled), config.validation_split, config.seed, 2)
    return [labelled[i] for i in np.sort(val_idx)], [labelled[i] for i in np.sort(fit_idx)]


@dataclass
class _Parts:
    """The texts a teacher scores, before they become one corpus."""

    fit_texts: list[str]
    fit_labels: np.ndarray
    free_texts: list[str]
    fit_crops: list[str]
    fit_parents: np.ndarray
    free_crops: list[str]
    free_parents: np.ndarray
    val_texts: list[str]
    val_short: list[tuple[str, int]]


def _teacher_scores(
    config: TrainConfig, parts: _Parts, cache: Path | None, say: Callable[[str], None]
) -> dict[str, np.ndarray]:
    """The n-gram teacher's scores of every part (cross-fitted on the labelled reviews)."""
    key = _teacher_key(config, parts.fit_texts, parts.free_texts, parts.val_texts)
    cached = _load_teacher_scores(cache, key)
    if cached is not None:
        say("teacher: reusing the scores in " + str(cache))
        return cached
    say(
        f"teacher: cross-fitting {config.teacher_folds} folds on {len(parts.fit_texts):,} "
        "reviews, then fitting on all of them to score the unlabelled reviews and crops"
    )
    fitted = cross_fit(
        parts.fit_texts,
        parts.fit_labels,
        folds=config.teacher_folds,
        seed=config.seed,
        contract_version=config.contract_version,
        kind=config.teacher,
        also=[(parts.fit_crops, parts.fit_parents)],
        final=[
            parts.free_texts,
            parts.free_crops,
            parts.val_texts,
            [t for t, _ in parts.val_short],
        ],
        workers=None,
        progress=say,
    )
    unlabelled_scores, unlabelled_crops, validation, validation_short = fitted.final
    scores = {
        "labelled": fitted.scores,
        "labelled_crops": fitted.also[0],
        "unlabelled": unlabelled_scores,
        "unlabelled_crops": unlabelled_crops,
        "validation": validation,
        "validation_short": validation_short,
    }
    if cache is not None:
        _save_teacher_scores(cache, key, scores)
    return scores


def _targets(
    config: TrainConfig,
    parts: _Parts,
    scores: dict[str, np.ndarray],
    say: Callable[[str], None],
) -> tuple[list[str], np.ndarray]:
    """The student's texts (labelled, unlabelled, then crops) and their soft targets."""
    w, cw, rw = config.label_weight, config.crop_label_weight, config.crop_review_weight
    labels = parts.fit_labels
    texts = parts.fit_texts + parts.free_texts + parts.fit_crops + parts.free_crops
    targets = np.concatenate(
        [
            w * labels + (1 - w) * scores["labelled"],
            scores["unlabelled"],
            cw * labels[parts.fit_parents] + (1 - cw) * scores["labelled_crops"],
            rw * scores["unlabelled"][parts.free_parents] + (1 - rw) * scores["unlabelled_crops"],
        ]
    ).astype(np.float32)
    if config.lexicon_weight or config.lexicon_weight_plain:
        start = len(parts.fit_texts) + len(parts.free_texts)
        targets[start:] = _with_lexicon(config, texts[start:], targets[start:], say)
    return texts, targets


def _suite_texts(config: TrainConfig) -> tuple[list[str], np.ndarray]:
    """The behavioural suite's training-part cases that have a label, ``suite_copies`` times
    (each copy another seeded filling of the templates); its held-out part is never read."""
    if not config.suite_copies:
        return [], np.zeros(0, dtype=np.float32)
    from lstm_sentiment.train import behaviour

    suite = behaviour.load_suite()
    found = [
        case
        for copy in range(config.suite_copies)
        for case in behaviour.cases(suite, "train", seed=config.seed + copy)
        if case.label is not None
    ]
    return [c.text for c in found], np.array([c.label for c in found], dtype=np.float32)


def _counterfactual_texts(
    config: TrainConfig, reviews: list[str], say: Callable[[str], None]
) -> tuple[list[str], np.ndarray]:
    """``config.counterfactuals`` turned sentences of each training review
    (``train/counterfactual.py``) with the lexicon teacher's scores as targets; those it
    finds next to no sentiment in are left out, as they teach nothing about a turn."""
    if not config.counterfactuals:
        return [], np.zeros(0, dtype=np.float32)
    from lstm_sentiment.train.counterfactual import counterfactuals
    from lstm_sentiment.train.lexicon import LexiconTeacher

    made = counterfactuals(
        reviews,
        config.counterfactuals,
        config.seed + 3,
        config.counterfactual_negations,
        config.counterfactual_forms,
    )
    scores = np.array(LexiconTeacher().score(made), dtype=np.float32)
    polar = np.abs(scores - 0.5) >= 0.1
    say(
        f"counterfactuals: {int(polar.sum()):,} of {len(made):,} turned sentences carry a "
        "clear lexicon score"
    )
    return [t for t, keep in zip(made, polar, strict=True) if keep], sharpened(
        scores[polar], config.counterfactual_sharpness
    )


def _contrast_texts(
    config: TrainConfig, crops: list[str], targets: np.ndarray, say: Callable[[str], None]
) -> tuple[list[str], np.ndarray]:
    """``config.contrasts`` pairs of the crops (``train/contrast.py``), with their final
    targets (the lexicon's share included), each taking its verdict sentence's target."""
    if not config.contrasts:
        return [], np.zeros(0, dtype=np.float32)
    from lstm_sentiment.train.contrast import contrasts

    made, made_targets = contrasts(crops, targets, config.contrasts, config.seed + 4)
    if not made:
        raise RunError("contrast texts need one-sentence crops of both sentiments; none were found")
    say(f"contrasts: {len(made):,} pairs of opposite one-sentence crops joined")
    return made, made_targets


def sharpened(probabilities: np.ndarray, sharpness: float) -> np.ndarray:
    """Probabilities with their logits multiplied by ``sharpness`` (1: unchanged)."""
    from lstm_sentiment.runtime.explain import logit

    if sharpness == 1.0:
        return probabilities.astype(np.float32)
    return (1 / (1 + np.exp(-sharpness * logit(probabilities)))).astype(np.float32)


def _with_lexicon(
    config: TrainConfig, crops: list[str], targets: np.ndarray, say: Callable[[str], None]
) -> np.ndarray:
    """Crop targets blended with the lexicon teacher's scores: by ``lexicon_weight`` where a
    crop holds a negation or a question (the n-gram teacher's blind spot; with a
    ``lexicon_gate``, only where the lexicon's rules for them move its score by more than
    the gate), else by ``lexicon_weight_plain``."""
    from lstm_sentiment.train.lexicon import LexiconTeacher, has_negation_or_question

    lexicon = LexiconTeacher()
    scores = np.array(lexicon.score(crops), dtype=np.float32)
    if config.lexicon_gate:
        marked = np.array(lexicon.rule_shift(crops)) > config.lexicon_gate
        what = f"have the lexicon's negation or question rules move them by > {config.lexicon_gate}"
    else:
        marked = np.array([has_negation_or_question(c, lexicon.negators) for c in crops])
        what = "hold a negation or a question"
    weights = np.where(marked, config.lexicon_weight, config.lexicon_weight_plain)
    say(
        f"lexicon teacher: {int(marked.sum()):,} of {len(crops):,} crops {what} (weight "
        f"{config.lexicon_weight}; the others {config.lexicon_weight_plain})"
    )
    return ((1 - weights) * targets + weights * scores).astype(np.float32)


def _cut(texts: list[str], config: TrainConfig, seed: int) -> tuple[list[str], np.ndarray]:
    """The config's crops of ``texts`` (random runs of sentences, then endings), each with the
    index of the text it was cut from."""
    cut, parents = crops(texts, config.crops_per_review, seed)
    if config.ending_crops:
        ends, end_parents = endings(texts, seed + 2)
        cut, parents = cut + ends, np.concatenate([parents, end_parents])
    return cut, parents


def fit_student(
    config: TrainConfig,
    contract: TextContract,
    corpus: Corpus,
    out: Path,
    say: Callable[[str], None],
) -> tuple[Any, dict[str, list[float]], int]:
    """Train the student, resuming from ``out/checkpoint`` when it holds finished epochs.

    Returns the model with the best epoch's weights, the per-epoch history and that epoch.
    """
    import keras
    import tensorflow as tf

    from lstm_sentiment.train.model import build_model, compile_model

    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    encoded = contract.encode_many(corpus.texts)
    batches = LengthBuckets(
        encoded, corpus.targets, config.batch_size, config.seed, config.length_buckets
    )
    model = build_model(config, contract.vocab_size)
    if config.word_vectors and not (out / CHECKPOINT_DIR).exists():
        from lstm_sentiment.train.word_vectors import start_embedding

        # Whole reviews only: crops would count their sentences twice. A resumed run gets
        # its weights from the checkpoint, so it needs no vectors.
        n_reviews = corpus.kinds["labelled"] + corpus.kinds["unlabelled"]
        start_embedding(model, encoded[:n_reviews], config.seed, say)
    # No training accuracy: against soft targets it would mean nothing; the judge measures
    # the held-out reviews instead.
    compile_model(model, config, steps_per_epoch=len(batches), metrics=())
    model.build((None, None))
    progress = _Progress(out / PROGRESS_FILE)
    judge = _Judge(model, contract, corpus, progress, out / EPOCHS_DIR, say, config.patience)
    model.fit(
        batches.dataset(),
        epochs=config.epochs,
        shuffle=False,  # LengthBuckets shuffles, seeded by epoch
        callbacks=[
            batches.epoch_setter(),
            # The judge records an epoch before the checkpoint marks it finished: a run stopped
            # in between redoes that epoch and forgets what the judge wrote of it.
            judge.callback(),
            keras.callbacks.BackupAndRestore(str(out / CHECKPOINT_DIR), delete_checkpoint=False),
        ],
        verbose=1 if sys.stderr.isatty() else 2,
    )
    model.load_weights(judge.weights_of(progress.best_epoch))
    return model, progress.history, progress.best_epoch


class LengthBuckets:
    """Shuffled batches of reviews of similar length, padded to a multiple of 16.

    Each epoch shuffles all reviews with a seed of its own, sorts chunks of 64 batches by
    length, cuts them into batches and shuffles the batches, so an epoch's order depends only
    on the seed and the epoch number (a resumed run sees the same order). With ``bucketed``
    False the shuffled reviews are cut into batches as they come (any lengths together).
    """

    def __init__(
        self,
        encoded: list[np.ndarray],
        targets: np.ndarray,
        batch_size: int,
        seed: int,
        bucketed: bool = True,
    ) -> None:
        self.bucketed = bucketed
        self.encoded = encoded
        self.targets = targets
        self.lengths = np.array([len(ids) for ids in encoded])
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0
        self.n_batches = len(self.plan(0))  # the same for every epoch: chunk sizes are fixed

    def __len__(self) -> int:
        return self.n_batches

    def plan(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.encoded))
        chunk = self.batch_size * 64
        batches: list[np.ndarray] = []
        for start in range(0, len(order), chunk):
            part = order[start : start + chunk]
            if self.bucketed:
                part = part[np.argsort(self.lengths[part], kind="stable")]
            step = self.batch_size
            batches.extend(part[i : i + step] for i in range(0, len(part), step))
        return [batches[i] for i in rng.permutation(len(batches))]

    def batch(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        width = int(-(-self.lengths[rows].max() // 16) * 16)
        ids = np.zeros((len(rows), width), dtype=np.int32)
        for r, row in enumerate(rows):
            ids[r, : self.lengths[row]] = self.encoded[row]
        return ids, self.targets[rows]

    def dataset(self) -> Any:
        import tensorflow as tf

        def generate() -> Any:
            for rows in self.plan(self.epoch):
                yield self.batch(rows)

        spec = (
            tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.float32),
        )
        data = tf.data.Dataset.from_generator(generate, output_signature=spec)
        return data.apply(tf.data.experimental.assert_cardinality(self.n_batches)).prefetch(4)

    def epoch_setter(self) -> Any:
        import keras

        buckets = self

        class SetEpoch(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                buckets.epoch = epoch

        return SetEpoch()


class _Progress:
    """The per-epoch history, kept on disk so that a resumed run keeps its earlier epochs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        self.history: dict[str, list[float]] = data.get("history", {})
        # The dropout layers' random state after each epoch: Keras' checkpoint keeps weights
        # and optimizer but not this, and a resumed run must draw the masks an uninterrupted
        # one would.
        self.dropout_states: dict[str, list[list[int]]] = data.get("dropout_states", {})

    @property
    def best_epoch(self) -> int:
        """The 1-based epoch with the lowest validation loss (0 before the first)."""
        losses = self.history.get("val_loss", [])
        return int(np.argmin(losses)) + 1 if losses else 0

    def truncate(self, epochs: int) -> None:
        """Forget epochs after ``epochs`` (they were not checkpointed)."""
        self.history = {k: v[:epochs] for k, v in self.history.items()}
        self.dropout_states = {k: v for k, v in self.dropout_states.items() if int(k) <= epochs}

    def add(self, figures: dict[str, float], dropout_states: list[list[int]]) -> None:
        for key, value in figures.items():
            self.history.setdefault(key, []).append(float(value))
        self.dropout_states[str(len(self.history["val_loss"]))] = dropout_states
        data = {"history": self.history, "dropout_states": self.dropout_states}
        self.path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


class _Judge:
    """Scores the held-out reviews after every epoch and keeps the best epoch's weights."""

    def __init__(
        self,
        model: Any,
        contract: TextContract,
        corpus: Corpus,
        progress: _Progress,
        folder: Path,
        say: Callable[[str], None],
        patience: int,
    ) -> None:
        self.model, self.contract, self.corpus = model, contract, corpus
        self.progress, self.folder, self.say = progress, folder, say
        self.patience = patience

    def weights_of(self, epoch: int) -> Path:
        return self.folder / f"epoch-{epoch}.weights.h5"

    def callback(self) -> Any:
        import keras

        judge = self
        generators = [
            layer.seed_generator
            for layer in self.model.layers
            if isinstance(layer, keras.layers.Dropout)
        ]

        class Judge(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                # Epochs from this one on were never checkpointed (a resumed run redoes them).
                judge.progress.truncate(epoch)
                # None before the first epoch and in runs started before states were kept.
                saved = judge.progress.dropout_states.get(str(epoch))
                if saved is not None:
                    for generator, state in zip(generators, saved, strict=True):
                        generator.state.assign(np.asarray(state, dtype="int64"))

            def on_epoch_end(self, epoch: int, logs: dict[str, float] | None = None) -> None:
                figures = judge.measure()
                figures["loss"] = float((logs or {}).get("loss", float("nan")))
                judge.folder.mkdir(exist_ok=True)
                self.model.save_weights(judge.weights_of(epoch + 1))
                states = [g.state.numpy().tolist() for g in generators]
                judge.progress.add(figures, states)
                # Early stopping as in the textbook path, counted from the history on disk so
                # that a resumed run stops where an uninterrupted one would have.
                if len(judge.progress.history["val_loss"]) - judge.progress.best_epoch >= (
                    judge.patience
                ):
                    self.model.stop_training = True
                judge.say(
                    f"epoch {epoch + 1}: loss {figures['loss']:.4f} "
                    f"val_loss {figures['val_loss']:.4f} val_accuracy "
                    f"{figures['val_accuracy']:.4f} val_short_accuracy "
                    f"{figures['val_short_accuracy']:.4f}"
                )

        return Judge()

    def measure(self) -> dict[str, float]:
        p = predict_sorted(self.model, self.contract, self.corpus.val_texts)
        y = self.corpus.val_labels
        q = np.clip(p, 1e-7, 1 - 1e-7)
        loss = float(-np.mean(y * np.log(q) + (1 - y) * np.log(1 - q)))
        short = self.corpus.val_short
        ps = predict_sorted(self.model, self.contract, [t for t, _ in short])
        return {
            "val_loss": loss,
            "val_accuracy": accuracy(y, p),
            "val_short_accuracy": accuracy(np.array([label for _, label in short]), ps),
        }


def predict_sorted(
    model: Any, contract: TextContract, texts: Sequence[str], batch_size: int = 256
) -> np.ndarray:
    """Keras scores of ``texts``, batched by length (the masked model ignores padding)."""
    from lstm_sentiment.runtime.contract import pad_batch

    encoded = contract.encode_many(texts)
    order = np.argsort([len(ids) for ids in encoded], kind="stable")
    scores = np.zeros(len(texts), dtype=np.float64)
    for start in range(0, len(order), batch_size):
        rows = order[start : start + batch_size]
        ids, _ = pad_batch([encoded[i] for i in rows])
        scores[rows] = np.asarray(model.predict_on_batch(ids)).reshape(-1)
    return scores


def check_resumable(out: Path, config: TrainConfig) -> bool:
    """True when ``out`` holds an unfinished run of ``config``; refuses another config's."""
    if not (out / CHECKPOINT_DIR).exists():
        return False
    saved = out / "config.json"
    if saved.is_file() and TrainConfig.load(saved) == config:
        return True
    raise RunError(
        f"{out} holds an unfinished run of another configuration ({saved.name} differs); "
        "resume it with the same options, or train into another folder"
    )


def _teacher_key(config: TrainConfig, *parts: Sequence[str]) -> str:
    digest = hashlib.sha256()
    relevant = {
        k: getattr(config, k)
        for k in (
            "seed",
            "validation_split",
            "teacher_folds",
            "teacher",
            "crops_per_review",
            "ending_crops",
            "contract_version",
        )
    }
    digest.update(json.dumps(relevant, sort_keys=True).encode())
    for texts in parts:
        digest.update(str(len(texts)).encode())
        for text in texts:
            digest.update(hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest())
    return digest.hexdigest()


def _load_teacher_scores(cache: Path | None, key: str) -> dict[str, np.ndarray] | None:
    if cache is None or not cache.is_file():
        return None
    try:
        with np.load(cache, allow_pickle=False) as data:
            if str(data["key"]) != key:
                return None
            return {name: data[name] for name in data.files if name != "key"}
    except (OSError, ValueError, KeyError):
        return None  # a damaged cache is recomputed, never trusted


def _save_teacher_scores(cache: Path, key: str, scores: dict[str, np.ndarray]) -> None:
    partial = cache.with_name(cache.name + ".partial.npz")
    np.savez(partial, key=np.array(key), **scores)
    partial.replace(cache)
