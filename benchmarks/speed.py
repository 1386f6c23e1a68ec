"""Benchmark: the textbook's Keras inference against the exported models, in one run.

    python -m benchmarks.speed runs/release [--models DIR] [--data PATH]

On the same weights (the models in ``--models``, by default the shipped ones, must have been
exported from ``RUN_DIR``: their text contracts are compared) and the 25,000-review IMDb test
split (written as a CSV first):

1. Keras ``model.predict`` at the contract's fixed length (500 in the textbook and release
   recipes) with its default batch size, as the textbook does it (model only: tokens
   precomputed);
2. onnxruntime fp32 at that fixed length on the naive export (the unmasked twin without the
   lengths pass), batch 32, model only;
3. onnxruntime fp32 and int8 on the exported graphs with length-sorted batches, model only;
4. ``scorer batch`` end to end (CSV in, CSV out, a fresh process each run) with the fp32 and
   int8 token-id models (tokenized in Python) and their raw-text twins (tokenized in the
   graph), with each process's peak memory;
5. with ``--baseline DIR`` (a folder written by ``lstm-sentiment export``, such as the
   textbook recipe's models), ``scorer batch`` end to end with that folder's fp32 and int8
   files too, and the ratios of the benchmarked models' speed to theirs;
6. with ``--big-gb``, ``scorer batch`` on a CSV of that many GB (test reviews repeated):
   time and peak memory.

Every row is the median of ``--repeats`` runs (default 3). It prints reviews/s, the
ratios against Keras, peak memory, and the share of this machine's float32 roofline: FLOPs
the LSTMs need at the real token lengths divided by the time and by a measured float32
matmul peak (numpy, all cores). Machine, CPU flags and versions are printed with the
figures; figures from another machine are not comparable.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lstm_sentiment.export.machine import machine
from lstm_sentiment.runtime.contract import TextContract, pad_batch
from lstm_sentiment.runtime.errors import LstmSentimentError
from lstm_sentiment.runtime.model import MODELS_DIR, SentimentModel
from lstm_sentiment.runtime.signature import IDS, VARIANTS
from lstm_sentiment.train import imdb
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.datasets import missing_run_file
from lstm_sentiment.train.quiet import set_verbose


def lstm_flops_per_token(config: TrainConfig) -> int:
    """Multiply-adds x 2 of both LSTM layers for one time step (the rest is negligible)."""
    directions = 2 if config.bidirectional else 1
    first = directions * 8 * config.lstm1_units * (config.embedding_dim + config.lstm1_units)
    second = 8 * config.lstm2_units * (directions * config.lstm1_units + config.lstm2_units)
    return first + second


def matmul_peak_gflops(size: int = 2048, repeats: int = 7) -> float:
    """Median float32 matmul throughput of this machine (numpy's BLAS, all cores)."""
    a = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    b = np.random.default_rng(1).standard_normal((size, size), dtype=np.float32)
    a @ b  # warm-up
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        rates.append(2 * size**3 / (time.perf_counter() - started) / 1e9)
    return statistics.median(rates)


REPEATS = 3


def timed(function: Any, *args: Any, repeats: int | None = None) -> float:
    """Median wall seconds of ``repeats`` calls (default ``REPEATS``: machines are noisy; one
    run is not a figure)."""
    runs = []
    for _ in range(repeats or REPEATS):
        started = time.perf_counter()
        function(*args)
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


# Runs `scorer batch` and reports its own peak memory. VmHWM belongs to the process's
# address space after exec; ru_maxrss from wait4 would also count the pages the child
# shared with this (large, TensorFlow-holding) parent between fork and exec.
_CHILD = """
import atexit, resource, runpy, sys
def peak():
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
atexit.register(lambda: print(f"PEAK_KB {peak()}", file=sys.stderr))
sys.argv = ["scorer", *sys.argv[1:]]
runpy.run_module("lstm_sentiment.runtime", run_name="__main__")
"""


def run_scorer(
    csv_path: Path, model: str, out: Path, extra: Sequence[str] = ()
) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one ``scorer batch`` process (``extra``: more of
    its options)."""
    command = [
        sys.executable,
        "-c",
        _CHILD,
        "batch",
        str(csv_path),
        "-o",
        str(out),
        "--model",
        model,
        "--quiet",
        *extra,
    ]
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"scorer batch failed: {result.stderr[-2000:]}")
    peak_kb = int(result.stderr.rsplit("PEAK_KB ", 1)[1].split()[0])
    return seconds, peak_kb / 1024


def repeated(reviews: list[imdb.Review], copies: int) -> Iterator[imdb.Review]:
    """``reviews`` ``copies`` times over, each copy's ids made unique (``ID#copy``)."""
    for copy in range(copies):
        for r in reviews:
            yield imdb.Review(f"{r.id}#{copy}", r.split, r.label, r.rating, r.text)


def big_csv(reviews: list[imdb.Review], path: Path, gigabytes: float) -> int:
    rows, target = 0, gigabytes * 1e9
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "review"])
        while f.tell() < target:
            for review in reviews:
                writer.writerow([rows, review.text])
                rows += 1
                if rows % 1000 == 0 and f.tell() >= target:
                    break
    return rows


def exported_from(models: Path, contract: TextContract) -> str | None:
    """Why ``models`` cannot be benchmarked against the run with ``contract``, if it cannot."""
    missing = [VARIANTS[v].file for v in VARIANTS if not (models / VARIANTS[v].file).is_file()]
    if missing:
        return f"{models} lacks {', '.join(missing)} (a folder written by lstm-sentiment export)"
    try:
        exported = SentimentModel.load(str(models / VARIANTS["fp32"].file), "cpu", threads=1)
    except LstmSentimentError as error:
        return str(error)
    if exported.contract != contract:
        return f"{models} was not exported from this run: their text contracts differ"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "run_dir", type=Path, help="the trained folder the benchmarked models came from"
    )
    parser.add_argument(
        "--models",
        type=Path,
        default=MODELS_DIR,
        help="the folder of models exported from RUN_DIR (default: the shipped models)",
    )
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--big-gb", type=float, default=0.0)
    parser.add_argument(
        "--baseline", type=Path, default=None, help="exported models to compare with end to end"
    )
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    global REPEATS
    REPEATS = args.repeats
    set_verbose(False)

    if problem := missing_run_file(args.run_dir, ("model.keras", "contract.json", "config.json")):
        sys.exit(f"error: {problem}")
    try:
        config = TrainConfig.load(args.run_dir / "config.json")
        contract = TextContract.load(args.run_dir / "contract.json")
    except ValueError as error:
        sys.exit(f"error: {args.run_dir}: {error}")
    try:
        reviews = imdb.load_split(imdb.resolve_source(args.data), "test")
    except imdb.DataError as error:
        sys.exit(f"error: {error}")
    if problem := exported_from(args.models, contract):
        sys.exit(f"error: {problem}")
    paths = {variant: str(args.models / VARIANTS[variant].file) for variant in VARIANTS}
    texts = [r.text for r in reviews]
    n = len(texts)
    encoded = contract.encode_many(texts)
    fixed, _ = pad_batch(encoded, pad_to=contract.max_length)
    tokens = int(sum(len(e) for e in encoded))
    flops = tokens * lstm_flops_per_token(config)
    peak = matmul_peak_gflops()
    figures: dict[str, Any] = {
        "machine": machine(),
        "python": platform.python_version(),
        "reviews": n,
        "tokens": tokens,
        "lstm_gflop_needed": flops / 1e9,
        "matmul_peak_gflops": peak,
        "rows": {},
    }

    def record(name: str, seconds: float, memory_mb: float | None = None) -> None:
        figures["rows"][name] = {
            "reviews_per_second": n / seconds,
            "seconds": seconds,
            "roofline_share": flops / seconds / 1e9 / peak,
            "peak_mb": memory_mb,
        }
        print(f"  {name:44} {n / seconds:9,.0f} reviews/s", flush=True)

    print(f"machine: {figures['machine']}; float32 matmul peak {peak:.0f} GFLOP/s", flush=True)

    from lstm_sentiment.export.convert import convert
    from lstm_sentiment.train.model import load_model

    width = contract.max_length  # the textbook pads every review to it
    keras_row = f"keras predict, length {width} (textbook)"
    keras_model = load_model(args.run_dir / "model.keras")
    keras_model.predict(fixed[:64], verbose=0)
    # Keras' default batch size (32), as the textbook calls it; verbose=0 keeps the progress
    # bar's terminal output out of the timing.
    record(
        keras_row,
        timed(lambda: keras_model.predict(fixed, verbose=0)),
    )

    import onnx
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        onnx.save(convert(args.run_dir, lengths_pass=False), work / "naive.onnx")
        naive = ort.InferenceSession(str(work / "naive.onnx"), providers=["CPUExecutionProvider"])

        def naive_run() -> None:
            for start in range(0, n, 32):
                naive.run(None, {IDS: fixed[start : start + 32]})

        record(f"onnxruntime fp32, length {width} (naive export)", timed(naive_run))
        for variant in ("fp32", "int8"):
            model = SentimentModel.load(paths[variant], "cpu", threads=1)
            model.score_encoded(encoded[:256])
            workers = max(1, min(os.cpu_count() or 1, 4))
            record(
                f"onnxruntime {variant}, length-sorted (model only)",
                timed(model.score_encoded, encoded, 64, workers),
            )

        test_csv = work / "imdb-test.csv"
        imdb.write_csv(reviews, test_csv)
        for variant in ("fp32", "int8", "text-fp32", "text-int8"):
            runs = [
                run_scorer(test_csv, paths[variant], work / "out.csv") for _ in range(args.repeats)
            ]
            seconds = statistics.median(r[0] for r in runs)
            record(f"scorer batch {variant} (CSV in, CSV out)", seconds, max(r[1] for r in runs))
        for variant in ("fp32", "int8") if args.baseline else ():
            path = str(args.baseline / VARIANTS[variant].file)
            runs = [run_scorer(test_csv, path, work / "out.csv") for _ in range(args.repeats)]
            seconds = statistics.median(r[0] for r in runs)
            record(f"scorer batch {variant}, baseline", seconds, max(r[1] for r in runs))

        if args.big_gb:
            path = work / "big.csv"
            rows = big_csv(reviews, path, args.big_gb)
            size = path.stat().st_size / 1e9
            figures["big"] = {"gigabytes": size, "rows": rows}
            for variant in ("fp32", "int8"):
                seconds, memory = run_scorer(path, paths[variant], work / "big-out.csv")
                figures["big"][variant] = {
                    "seconds": seconds,
                    "peak_mb": memory,
                    "reviews_per_second": rows / seconds,
                }
                print(
                    f"  scorer batch {variant} on {size:.2f} GB ({rows:,} rows): "
                    f"{rows / seconds:,.0f} reviews/s, peak {memory:.0f} MB",
                    flush=True,
                )

    keras = figures["rows"][keras_row]["reviews_per_second"]
    print()
    print(f"{'':46} {'reviews/s':>10} {'x Keras':>8} {'roofline':>9} {'peak MB':>8}")
    for name, row in figures["rows"].items():
        memory = f"{row['peak_mb']:.0f}" if row["peak_mb"] else "-"
        print(
            f"{name:46} {row['reviews_per_second']:10,.0f} "
            f"{row['reviews_per_second'] / keras:8.2f} {row['roofline_share']:9.1%} {memory:>8}"
        )
    fp32 = figures["rows"]["scorer batch fp32 (CSV in, CSV out)"]["reviews_per_second"]
    int8 = figures["rows"]["scorer batch int8 (CSV in, CSV out)"]["reviews_per_second"]
    print(
        f"\nint8 / fp32 end to end: {int8 / fp32:.2f}; files: "
        + ", ".join(f"{v} {Path(paths[v]).stat().st_size / 1e6:.2f} MB" for v in ("fp32", "int8"))
    )
    for variant in ("fp32", "int8") if args.baseline else ():
        shipped = figures["rows"][f"scorer batch {variant} (CSV in, CSV out)"]
        baseline = figures["rows"][f"scorer batch {variant}, baseline"]
        ratio = shipped["reviews_per_second"] / baseline["reviews_per_second"]
        figures[f"{variant}_vs_baseline"] = ratio
        print(f"{variant} end to end, {args.models} / {args.baseline}: {ratio:.2f}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
