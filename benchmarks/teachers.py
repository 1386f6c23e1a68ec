"""Choose the release recipe's teacher: every kind in ``teacher.TEACHERS``, side by side.

    python -m benchmarks.teachers [--data PATH] [--json sweep.json]

Each teacher is fitted on the release recipe's training part of the labelled split and
scored on its held-out validation reviews (the same seeded hold-out the recipe uses, 10%),
and on their short-review set; the test split is not read. Prints accuracy, short-review
accuracy and fitting seconds per teacher.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from lstm_sentiment.runtime.metrics import accuracy
from lstm_sentiment.train import imdb
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.samplers import hold_out
from lstm_sentiment.train.short_texts import short_reviews
from lstm_sentiment.train.teacher import TEACHERS, Teacher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    config = TrainConfig.for_recipe("release")
    try:
        labelled = imdb.load_split(imdb.resolve_source(args.data), "train")
    except imdb.DataError as error:
        sys.exit(f"error: {error}")
    held, kept = hold_out(len(labelled), config.validation_split, config.seed, 2)
    fit = [labelled[i] for i in np.sort(kept)]
    val = [labelled[i] for i in np.sort(held)]
    short = short_reviews(val)
    texts, labels = [r.text for r in fit], np.array([r.label for r in fit])
    print(f"fit on {len(fit):,} reviews; validation {len(val):,}, short {len(short):,}")
    rows = []
    for kind in TEACHERS:
        started = time.perf_counter()
        teacher = Teacher.fit(texts, labels, contract_version=config.contract_version, kind=kind)
        seconds = time.perf_counter() - started
        rows.append(
            {
                "teacher": kind,
                "validation_accuracy": accuracy(
                    np.array([r.label for r in val]), teacher.predict([r.text for r in val])
                ),
                "short_accuracy": accuracy(
                    np.array([label for _, label in short]),
                    teacher.predict([t for t, _ in short]),
                ),
                "fit_seconds": round(seconds, 1),
            }
        )
        print(f"  measured {kind}", flush=True)
    print("\n| teacher | validation accuracy | short-review accuracy | fit seconds |")
    print("| --- | --- | --- | --- |")
    for row in rows:
        print(
            f"| {row['teacher']} | {row['validation_accuracy']:.2%} | "
            f"{row['short_accuracy']:.2%} | {row['fit_seconds']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
