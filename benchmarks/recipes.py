"""The recipes side by side, in one run: the n-gram teacher, the textbook and the release
models, on the 25,000 test reviews and on the short-review set cut from them.

    python -m benchmarks.recipes --textbook runs/textbook-models \\
        --release runtime/models [--also "release 2.0.0=DIR"] [--data PATH] [--repeats 3] \\
        [--json recipes.json]

``--textbook``, ``--release`` and each ``--also NAME=DIR`` are folders written by
``lstm-sentiment export``. For each
model file: test accuracy, short-review accuracy (``train/short_texts.py``: the last two
sentences of test reviews rated 1-2 or 9-10 stars), the held-out part of the behavioural
suite (``train/behaviour.py``: overall, negated negatives and positives, question and
answer), ``scorer batch`` reviews/s end to end
(CSV in and out, a fresh process, median of ``--repeats``), file size and the training
minutes its metadata records. A teacher row for each teacher the release models name in
their metadata trains it on the 25,000 labelled training reviews, then times its scoring in
this process. The test split is only measured here, never used for a choice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.speed import run_scorer
from lstm_sentiment.export.machine import machine
from lstm_sentiment.runtime.metrics import accuracy
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.runtime.signature import VARIANTS
from lstm_sentiment.train import behaviour, imdb
from lstm_sentiment.train.short_texts import short_reviews

# The suite's columns: overall, then the capabilities the release recipe is weakest at.
SUITE_COLUMNS = ("negated negative", "negated positive", "question and answer")


def suite_figures(scorer: behaviour.Scorer) -> dict[str, float]:
    """Pass rates on the held-out part of the behavioural suite."""
    found = behaviour.cases(behaviour.load_suite(), "held_out")
    figures = behaviour.score_cases(found, scorer)
    return {"overall": figures["overall"], **{c: figures["capabilities"][c] for c in SUITE_COLUMNS}}


def _or_dash(value: float, spec: str) -> str:
    return "-" if value != value else format(value, spec)  # NaN: not applicable


def model_row(
    name: str,
    path: Path,
    test: tuple[list[str], np.ndarray],
    short: tuple[list[str], np.ndarray],
    test_csv: Path,
    repeats: int,
) -> dict[str, Any]:
    model = SentimentModel.load(path, "cpu")
    seconds = statistics.median(
        run_scorer(test_csv, str(path), test_csv.with_name("out.csv"))[0] for _ in range(repeats)
    )
    training = model.metadata.get("training") or {}
    config = model.metadata.get("training_config") or {}
    return {
        "name": name,
        "recipe": config.get("recipe", "textbook"),
        "test_accuracy": accuracy(test[1], model.score(test[0]), model.threshold),
        "short_accuracy": accuracy(short[1], model.score(short[0]), model.threshold),
        "suite": suite_figures(lambda texts: model.score(list(texts))),
        "reviews_per_second": len(test[0]) / seconds,
        "megabytes": path.stat().st_size / 1e6,
        "training_minutes": training.get("seconds", float("nan")) / 60,
    }


def teacher_row(
    source: Path,
    test: tuple[list[str], np.ndarray],
    short: tuple[list[str], np.ndarray],
    kind: str,
) -> dict[str, Any]:
    from lstm_sentiment.train.teacher import Teacher

    train = imdb.load_split(source, "train")
    started = time.perf_counter()
    labels = np.array([r.label for r in train])
    teacher = Teacher.fit([r.text for r in train], labels, kind=kind)
    fit_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scores = teacher.predict(test[0])
    seconds = time.perf_counter() - started
    return {
        "name": f"n-gram teacher ({kind})",
        "recipe": "teacher",
        "test_accuracy": accuracy(test[1], scores),
        "short_accuracy": accuracy(short[1], teacher.predict(short[0])),
        "suite": suite_figures(lambda texts: teacher.predict(list(texts))),
        "reviews_per_second": len(test[0]) / seconds,
        "megabytes": float("nan"),
        "training_minutes": fit_seconds / 60,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--textbook", type=Path, required=True, help="exported textbook models")
    parser.add_argument("--release", type=Path, required=True, help="exported release models")
    parser.add_argument(
        "--also", action="append", default=[], help="NAME=DIR: more exported models (repeat)"
    )
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    try:
        source = imdb.resolve_source(args.data)
        reviews = imdb.load_split(source, "test")
    except imdb.DataError as error:
        sys.exit(f"error: {error}")
    test = ([r.text for r in reviews], np.array([r.label for r in reviews], dtype=bool))
    pairs = short_reviews(reviews)
    short = ([t for t, _ in pairs], np.array([label for _, label in pairs], dtype=bool))
    print(f"machine: {machine()}")
    print(f"test reviews: {len(test[0]):,}; short reviews: {len(short[0]):,}", flush=True)
    folders = [("textbook", args.textbook)]
    for also in args.also:
        name, _, folder = also.partition("=")
        if not folder:
            sys.exit(f"error: --also takes NAME=DIR, got {also!r}")
        folders.append((name, Path(folder)))
    folders.append(("release", args.release))
    # Each distilled model's own teacher; models from before the choice existed had nblr.
    kinds = []
    for _, folder in folders[1:]:
        metadata = SentimentModel.load(folder / VARIANTS["fp32"].file, "cpu").metadata
        kind = (metadata.get("training_config") or {}).get("teacher", "nblr")
        if kind not in kinds:
            kinds.append(kind)
    rows = [teacher_row(source, test, short, kind) for kind in kinds]
    with tempfile.TemporaryDirectory() as work:
        test_csv = Path(work) / "imdb-test.csv"
        imdb.write_csv(reviews, test_csv)
        for label, folder in folders:
            for variant in ("fp32", "int8"):
                path = folder / VARIANTS[variant].file
                rows.append(
                    model_row(f"{label} {variant}", path, test, short, test_csv, args.repeats)
                )
                print(f"  measured {rows[-1]['name']}", flush=True)
    print()
    print(
        "| model | test accuracy | short-review accuracy | suite held-out | negated neg. / pos. "
        "| Q&A | reviews/s | MB | training minutes |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in rows:
        suite = row["suite"]
        print(
            f"| {row['name']} | {row['test_accuracy']:.2%} | {row['short_accuracy']:.2%} | "
            f"{suite['overall']:.1%} | {suite['negated negative']:.1%} / "
            f"{suite['negated positive']:.1%} | {suite['question and answer']:.1%} | "
            f"{row['reviews_per_second']:,.0f} | {_or_dash(row['megabytes'], '.2f')} | "
            f"{row['training_minutes']:.1f} |"
        )
    if args.json:
        figures = {"machine": machine(), "short_reviews": len(short[0]), "rows": rows}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
