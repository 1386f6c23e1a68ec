"""Measure every dynamic-quantization option side by side in one run.

    python -m benchmarks.quantize runtime/models/lstm-sentiment-fp32.onnx \
        [--data PATH] [--split train|test] [--limit-per-label N]

For each weight type x per-channel x reduce_range x op-type set it prints accuracy, the drop
against fp32, label agreement, max and mean |Δp|, model-only scoring time and file size.
``export/quantize.py`` takes its defaults from this table. It reads the training split by
default: the choice rests on how far int8 strays from fp32 (agreement, |Δp|), which needs no
unseen reviews, and the test split stays for the final figures (``--split test``).
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lstm_sentiment.export.machine import machine
from lstm_sentiment.export.quantize import QuantOptions, quantize
from lstm_sentiment.runtime.metrics import agreement
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.train import imdb
from lstm_sentiment.train.samplers import subset

OP_SETS = (("Gather", "LSTM", "MatMul"), ("LSTM", "MatMul"), ("Gather",))


def sweep(
    fp32_path: Path, source: Path | None, limit_per_label: int | None, split: str = "train"
) -> None:
    reviews = imdb.load_split(
        imdb.resolve_source(source), split, check_counts=limit_per_label is None
    )
    if limit_per_label:
        reviews = subset(reviews, limit_per_label, 0)
    labels = np.array([r.label for r in reviews], dtype=bool)
    fp32 = SentimentModel.load(fp32_path)
    encoded = fp32.contract.encode_many([r.text for r in reviews])

    def run(model: SentimentModel) -> tuple[np.ndarray, float]:
        started = time.perf_counter()
        scores = model.score_encoded(encoded)
        return scores, time.perf_counter() - started

    base, base_seconds = run(fp32)
    threshold = fp32.threshold
    base_acc = float(np.mean((base >= threshold) == labels))
    print(f"machine: {machine()}")
    print(f"{len(reviews):,} reviews of the {split} split")
    print(f"fp32: accuracy {base_acc:.4f}, {base_seconds:.1f} s, {fp32_path.stat().st_size:,} B")
    columns = ("weight", "per_ch", "reduce", "ops", "acc", "drop_pt", "agree", "max_dp")
    print("  ".join(columns + ("mean_dp", "secs", "bytes")))
    with tempfile.TemporaryDirectory() as work:
        for weight, per_channel, reduce_range, ops in itertools.product(
            ("QInt8", "QUInt8"), (False, True), (False, True), OP_SETS
        ):
            options = QuantOptions(weight, per_channel, reduce_range, ops)
            out = Path(work) / "int8.onnx"
            quantize(fp32_path, out, options)
            scores, seconds = run(SentimentModel.load(out))
            acc = float(np.mean((scores >= threshold) == labels))
            against = agreement(scores, base, threshold)
            print(
                f"{weight:7} {per_channel!s:7} {reduce_range!s:7} {'+'.join(ops):19} "
                f"{acc:.4f}  {100 * (base_acc - acc):+.2f}    {against['label_agreement']:.4%} "
                f"{against['max_abs_dp']:.4f}  {against['mean_abs_dp']:.5f}  {seconds:4.1f}  "
                f"{out.stat().st_size:,}"
            )


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fp32", type=Path)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--split", choices=("train", "test"), default="train")
    parser.add_argument("--limit-per-label", type=int, default=None)
    args = parser.parse_args()
    try:
        sweep(args.fp32, args.data, args.limit_per_label, args.split)
    except imdb.DataError as error:
        sys.exit(f"error: {error}")
