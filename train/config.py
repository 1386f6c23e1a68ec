"""The training recipe as one dataclass; the CLI overrides it and it is saved beside the model.

The defaults are the textbook recipe: Embedding(10000, 64) -> LSTM(64, return_sequences)
-> LSTM(32) -> Dense(1, sigmoid), max length 500, Adam, binary cross-entropy, 5 epochs,
batch 64, validation split 0.2.

``TrainConfig.for_recipe("release")`` is the release recipe: the same network (so the same
speed) with a larger vocabulary and contract version 3, distilled from an n-gram teacher
over the labelled reviews, the 50,000 unlabelled ones and short crops of both (a random run
of sentences and the ending of each review, which also learn half their whole review's
target), its embedding started from word2vec vectors of the reviews it reads, with word and
layer dropout, a cosine learning-rate schedule over 4 epochs and gradient clipping.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lstm_sentiment.runtime.contract import FIRST_WORD_ID, settings_problems


def option(default: Any, help: str, *, flag: str | None = None, shown: str | None = None) -> Any:
    """A field that ``lstm-sentiment train`` offers as an option: its help text, and how
    the textbook value reads there (``shown``, default: the value itself; "" says nothing).
    ``flag`` gives a boolean's two spellings, as ``--word-vectors/--no-word-vectors``."""
    return dataclasses.field(default=default, metadata={"help": help, "flag": flag, "shown": shown})


@dataclass
class TrainConfig:
    # embedding rows, the 3 special ids included (Keras' num_words)
    vocab_size: int = option(10_000, "Vocabulary size, special ids included")
    max_length: int = option(500, "Ids per review, start id included")
    keep: str = option("last", "Which end of an over-long review to keep: last or first")
    embedding_dim: int = option(64, "Embedding width")
    lstm1_units: int = option(64, "Units of the first LSTM, each way if bidirectional")
    bidirectional: bool = option(
        False,
        "Whether the first LSTM also reads each text backwards",
        flag="--bidirectional/--forward-only",
        shown="forward only",
    )
    word_vectors: bool = option(
        False,
        "Start the embedding from word2vec vectors of the training reviews (gensim)",
        flag="--word-vectors/--no-word-vectors",
        shown="no",
    )
    word_dropout: float = option(0.0, "Share of words dropped in training", shown="0")
    dropout: float = option(0.0, "Dropout on the first LSTM's outputs in training", shown="0")
    lstm2_units: int = option(32, "Units of the second LSTM")
    learning_rate: float = option(1e-3, "Adam's learning rate")
    epochs: int = option(5, "Most epochs to train")
    batch_size: int = option(64, "Reviews per training step")
    validation_split: float = option(0.2, "Share of the training split held out for validation")
    patience: int = option(2, "Stop after this many epochs without a better validation loss")
    seed: int = option(1337, "Seed for shuffling and weights")
    limit_per_label: int | None = option(
        None, "Train on a random sample of this many reviews per label", shown="all"
    )
    # The release recipe's parts (the textbook recipe uses none of them):
    recipe: str = option(
        "textbook",
        "textbook (the classic network on the labelled reviews) or release (the same network "
        "distilled from an n-gram teacher over the unlabelled reviews too) (default: textbook)",
        shown="",
    )
    contract_version: int = 1  # text contract rule version (2: typographic apostrophes, 3: HTML)
    teacher_folds: int = 0  # 0: no teacher; else cross-fitting folds of the n-gram teacher
    teacher: str = "nblr"  # which n-gram teacher (train/teacher.py TEACHERS)
    unlabelled: bool = False  # also learn the teacher's scores of the unlabelled reviews
    unlabelled_limit: int | None = option(
        None, "Release recipe: use only this many unlabelled reviews", shown="all"
    )
    crops_per_review: int = 0  # teacher-scored crops of 1-3 sentences cut from each review
    ending_crops: bool = False  # also crop each review's last 1-3 sentences (its verdict)
    label_weight: float = 1.0  # labelled targets: this share true label, the rest teacher
    crop_label_weight: float = 0.0  # crops of labelled reviews: this share the review's label
    # crops of unlabelled reviews: this share the teacher's score of the whole review
    crop_review_weight: float = 0.0
    # crops' targets: this share the lexicon teacher's score (train/lexicon.py), on crops that
    # hold a negation or a question, and on the others
    lexicon_weight: float = 0.0
    lexicon_weight_plain: float = 0.0
    # > 0: "holds a negation or a question" becomes "the lexicon's negation and question
    # rules move its probability by more than this" (the crops where they turn a word)
    lexicon_gate: float = 0.0
    # the behavioural suite's training part (never its held-out part), this many times over,
    # as labelled short texts (train/behaviour.py)
    suite_copies: int = 0
    # counterfactual short texts cut from each training review (train/counterfactual.py: a
    # negation put in, or a question answered), targets from the lexicon teacher
    counterfactuals: int = 0
    # > 1 sharpens those targets (logit times this): the lexicon's sums are mild ("not
    # dull" 0.65) and the corpus's habits pull a student below 0.5 on them
    counterfactual_sharpness: float = 1.0
    counterfactual_negations: float = 1 / 3  # share of them negations; the rest questions
    # True: negations in several forms ("isn't", "I don't think ...", "... at all"), not only
    # "not" after the verb
    counterfactual_forms: bool = False
    # contrast texts (train/contrast.py): this many pairs of clearly positive and clearly
    # negative one-sentence crops joined by a concession or a turn, with the verdict's target
    contrasts: int = 0
    # batches of reviews of similar length (padded only to their longest); else shuffled
    # batches of any lengths, as the textbook trains
    length_buckets: bool = False
    lr_schedule: str = "constant"  # or "cosine" (decays to 0 over all epochs)
    clipnorm: float | None = None  # clip each gradient to this norm

    @classmethod
    def for_recipe(cls, name: str, **overrides: Any) -> TrainConfig:
        """The named recipe's config, with ``overrides`` applied."""
        if name not in RECIPES:
            raise ValueError(f"unknown recipe {name!r}; choose one of {', '.join(RECIPES)}")
        return cls.from_dict({**RECIPES[name], "recipe": name, **overrides})

    @property
    def distils(self) -> bool:
        return self.teacher_folds > 0

    def __post_init__(self) -> None:
        checks = {
            f"vocab_size must be > {FIRST_WORD_ID}": self.vocab_size > FIRST_WORD_ID,
            "epochs must be >= 1": self.epochs >= 1,
            "batch_size must be >= 1": self.batch_size >= 1,
            "validation_split must be in (0, 1)": 0 < self.validation_split < 1,
            "patience must be >= 1": self.patience >= 1,
            "learning_rate must be > 0": self.learning_rate > 0,
            "layer sizes must be >= 1": min(self.embedding_dim, self.lstm1_units, self.lstm2_units)
            >= 1,
            "limit_per_label must be >= 1": self.limit_per_label is None
            or self.limit_per_label >= 1,
            "recipe must be one of " + ", ".join(RECIPES): self.recipe in RECIPES,
            "teacher must be nblr, tfidf or nblr+tfidf": self.teacher
            in ("nblr", "tfidf", "nblr+tfidf"),
            "teacher_folds must be 0 (no teacher) or >= 2": self.teacher_folds == 0
            or self.teacher_folds >= 2,
            "unlabelled reviews and crops need a teacher (teacher_folds >= 2)": self.distils
            or (not self.unlabelled and self.crops_per_review == 0 and not self.ending_crops),
            "unlabelled_limit must be >= 1": self.unlabelled_limit is None
            or self.unlabelled_limit >= 1,
            "crops_per_review must be >= 0": self.crops_per_review >= 0,
            "suite_copies must be >= 0": self.suite_copies >= 0,
            "counterfactuals must be >= 0": self.counterfactuals >= 0,
            "counterfactual texts need a teacher (teacher_folds >= 2)": self.distils
            or not self.counterfactuals,
            "contrasts must be >= 0": self.contrasts >= 0,
            "contrast texts need a teacher (teacher_folds >= 2)": self.distils
            or not self.contrasts,
            "counterfactual_sharpness must be > 0": self.counterfactual_sharpness > 0,
            "counterfactual_negations must be in [0, 1]": 0 <= self.counterfactual_negations <= 1,
            "label_weight must be in [0, 1]": 0 <= self.label_weight <= 1,
            "crop_label_weight must be in [0, 1]": 0 <= self.crop_label_weight <= 1,
            "crop_review_weight must be in [0, 1]": 0 <= self.crop_review_weight <= 1,
            "lexicon_gate must be in [0, 1)": 0 <= self.lexicon_gate < 1,
            "lexicon_weight and lexicon_weight_plain must be in [0, 1]": 0
            <= self.lexicon_weight
            <= 1
            and 0 <= self.lexicon_weight_plain <= 1,
            "lr_schedule must be 'constant' or 'cosine'": self.lr_schedule
            in ("constant", "cosine"),
            "clipnorm must be > 0": self.clipnorm is None or self.clipnorm > 0,
            "word_dropout and dropout must be in [0, 1)": 0 <= self.word_dropout < 1
            and 0 <= self.dropout < 1,
        }
        failed = [message for message, ok in checks.items() if not ok]
        failed += settings_problems(self.max_length, self.keep, self.contract_version)
        if failed:
            raise ValueError("invalid training config: " + "; ".join(failed))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown training config keys: {', '.join(unknown)}")
        return cls(**data)

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> TrainConfig:
        return cls.from_dict(cls.read_settings(path))

    @classmethod
    def read_settings(cls, path: Path) -> dict[str, Any]:
        """The settings in a JSON file: all of a config or some (``from_dict`` checks them)."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError(f"{path} holds no JSON object of settings")
        return data


# Each recipe is a set of changes to the defaults above (the textbook recipe is none).
RECIPES: dict[str, dict[str, Any]] = {
    "textbook": {},
    "release": {
        "vocab_size": 20_000,
        "contract_version": 3,
        "teacher_folds": 5,
        "teacher": "nblr+tfidf",
        "unlabelled": True,
        "crops_per_review": 1,
        "ending_crops": True,
        "label_weight": 0.5,
        "crop_label_weight": 0.5,
        "crop_review_weight": 0.5,
        "word_vectors": True,
        "word_dropout": 0.1,
        "dropout": 0.2,
        "learning_rate": 2e-3,
        "length_buckets": True,
        "lr_schedule": "cosine",
        "clipnorm": 1.0,
        "epochs": 4,
        "patience": 4,
        "validation_split": 0.1,
    },
}
