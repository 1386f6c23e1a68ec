"""The training recipe as one dataclass; the CLI overrides it and it is saved beside the model.

The defaults are the textbook recipe: Embedding(10000, 64) -> LSTM(64, return_sequences)
-> LSTM(32) -> Dense(1, sigmoid), max length 500, Adam, binary cross-entropy, 5 epochs,
batch 64, validation split 0.2.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class TrainConfig:
    vocab_size: int = 10_000  # embedding rows, the 3 special ids included (Keras' num_words)
    max_length: int = 500  # ids per review, the start id included
    keep: str = "last"  # which end of an over-long review is kept: "last" or "first"
    embedding_dim: int = 64
    lstm1_units: int = 64
    lstm2_units: int = 32
    learning_rate: float = 1e-3  # Adam's default
    epochs: int = 5
    batch_size: int = 64
    validation_split: float = 0.2  # share of the (shuffled) training split held out
    patience: int = 2  # epochs without a better validation loss before stopping early
    seed: int = 1337
    limit_per_label: int | None = None  # train on a subset: this many reviews per label

    def __post_init__(self) -> None:
        checks = {
            "vocab_size must be > 3": self.vocab_size > 3,
            "max_length must be >= 2": self.max_length >= 2,
            "keep must be 'last' or 'first'": self.keep in ("last", "first"),
            "epochs must be >= 1": self.epochs >= 1,
            "batch_size must be >= 1": self.batch_size >= 1,
            "validation_split must be in (0, 1)": 0 < self.validation_split < 1,
            "patience must be >= 1": self.patience >= 1,
            "learning_rate must be > 0": self.learning_rate > 0,
            "layer sizes must be >= 1": min(self.embedding_dim, self.lstm1_units, self.lstm2_units)
            >= 1,
            "limit_per_label must be >= 1": self.limit_per_label is None
            or self.limit_per_label >= 1,
        }
        failed = [message for message, ok in checks.items() if not ok]
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
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))
