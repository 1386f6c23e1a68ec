"""The GPU check: where each node runs on CUDA, how far CUDA's scores are from the CPU's,
and how fast ``scorer batch`` is on each (run by ``benchmarks/gpu_check.sh``).

    python -m benchmarks.gpu_check [--data PATH] [--repeats 3]

Needs onnxruntime-gpu and an NVIDIA GPU. For each shipped file: the nodes onnxruntime runs
on the CPU in a CUDA session (``runtime/placement.py``); on the 25,000 test reviews, the
max and mean |dp| and the label agreement of the CUDA scores with the CPU fp32 scores; and
``scorer batch`` end to end (a fresh process, median of ``--repeats``) with ``--provider
cuda`` (``--allow-cpu-nodes`` where some node stays on the CPU) against ``--provider cpu``.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lstm_sentiment.runtime.model import MODELS_DIR, SentimentModel
from lstm_sentiment.runtime.placement import CPU, describe, on_cpu, placement
from lstm_sentiment.runtime.providers import CUDA
from lstm_sentiment.runtime.signature import IDS, TEXT, VARIANTS, Kind
from lstm_sentiment.train import imdb


def gpu_name() -> str:
    try:
        query = ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"]
        done = subprocess.run(query, capture_output=True, text=True, check=False)
        return done.stdout.strip() or "unknown"
    except OSError:
        return "unknown (no nvidia-smi)"


def scorer_seconds(csv_path: Path, variant: str, provider: str, repeats: int) -> float:
    out = str(csv_path.with_suffix(".out.csv"))
    command = [sys.executable, "-m", "lstm_sentiment.runtime", "batch", str(csv_path), "-o", out,
               "-q", "-m", variant, "--provider", provider]  # fmt: skip
    if provider == "cuda":
        command.append("--allow-cpu-nodes")
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - started)
        if done.returncode not in (0, 3):
            raise SystemExit(
                f"error: scorer batch -m {variant} --provider {provider}: {done.stderr[-1500:]}"
            )
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    import onnxruntime as ort

    if hasattr(ort, "preload_dlls"):  # the CUDA and cuDNN wheels' libraries (onnxruntime 1.21+)
        ort.preload_dlls()
    offered = ort.get_available_providers()
    print(f"onnxruntime {ort.__version__}, providers {offered}; GPU: {gpu_name()}")
    if CUDA not in ort.get_available_providers():
        sys.exit(
            "error: this onnxruntime offers no CUDAExecutionProvider (install onnxruntime-gpu)"
        )
    try:
        reviews = imdb.load_split(imdb.resolve_source(args.data), "test")
    except imdb.DataError as error:
        sys.exit(f"error: {error}")
    texts = [r.text for r in reviews]
    print("\nnode placement in a CUDA session:")
    for variant in VARIANTS:
        path = MODELS_DIR / VARIANTS[variant].file
        if VARIANTS[variant].kind is Kind.TEXT:
            feed = {TEXT: np.array(["a fine film"], dtype=object)}
        else:
            feed = {IDS: np.array([[1, 2, 2]], dtype=np.int32)}
        nodes = placement(path, [CUDA, CPU], feed)
        cpu = on_cpu(nodes)
        print(
            f"  {variant}: "
            + (describe(cpu, len(nodes)) if cpu else f"all {len(nodes)} nodes on CUDA")
        )
    reference = SentimentModel.load("fp32", "cpu").score(texts)
    print("\nscores on CUDA against CPU fp32 (25,000 test reviews):")
    for variant in VARIANTS:
        cuda = SentimentModel.load(variant, "cuda", allow_cpu_nodes=True).score(texts)
        dp = np.abs(cuda.astype(np.float64) - reference)
        agree = float(np.mean((cuda >= 0.5) == (reference >= 0.5)))
        print(
            f"  {variant}: max |dp| {np.nanmax(dp):.2e}, mean {np.nanmean(dp):.2e}, "
            f"labels agree {agree:.4%}"
        )
    with tempfile.TemporaryDirectory() as work:
        csv_path = Path(work) / "test.csv"
        imdb.write_csv(reviews, csv_path)
        print(f"\nscorer batch end to end, median of {args.repeats} (reviews/s):")
        for variant in ("fp32", "int8", "text-fp32"):
            cpu_s = scorer_seconds(csv_path, variant, "cpu", args.repeats)
            gpu_s = scorer_seconds(csv_path, variant, "cuda", args.repeats)
            n = len(texts)
            print(
                f"  {variant}: cpu {n / cpu_s:,.0f}, cuda {n / gpu_s:,.0f} ({cpu_s / gpu_s:.2f}x)"
            )


if __name__ == "__main__":
    main()
