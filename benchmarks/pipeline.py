"""Benchmark: `scorer batch` end to end against the model alone, with where the time goes.

    python -m benchmarks.pipeline [--models DIR] [--copies 4] [--repeats 3] [--data PATH] \\
        [--variants fp32,int8,text-fp32,text-int8] [--json pipeline.json]

On a CSV of the IMDb test split written ``--copies`` times (100,000 reviews by default), for
each variant, in one run:

- the model alone, the faster of two ways: a plain onnxruntime session (its default
  threads, every core) scoring the reviews in length-sorted batches of 256, and the
  runtime's own model call as ``scorer batch`` makes it (length-sorted batches of 64, one
  single-threaded batch per core); tokens precomputed for a token-id model, the raw texts
  for a raw-text one (whose graph tokenizes);
- ``scorer batch FILE -o OUT.csv`` end to end, a fresh process, with its peak memory, and
  its speed as a share of the model alone's; the two ways of the model alone and this run
  back to back in each of ``--repeats`` rounds, each figure the median of its rounds;
- the breakdown, each part alone in this process on one thread: start-up (``scorer batch``
  on a one-review file, a fresh process), reading the CSV into records, tokenizing (token-id
  models only), the model (as above) and writing the scored rows as CSV;
- where the CPU goes: the runtime's call and ``score_file`` (what ``scorer batch`` runs,
  here in this process, start-up left out), each timed with the process's CPU seconds and
  ``score_file``'s own thread's (reading, tokenizing and writing happen there; the model's
  batches run in other threads), so that a model slowed beside the other work, or cores left
  waiting, show.

The parts overlap in ``scorer batch`` (it reads and tokenizes the next window while the
model scores this one), so they need not add up to the end-to-end time; the largest part
after the model is where the next gain is. Figures from another machine are not comparable:
the machine and its CPU flags are printed with them.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.speed import repeated, run_scorer, timed
from lstm_sentiment.export.machine import machine
from lstm_sentiment.runtime.batch import BatchOptions, parallelism, score_file
from lstm_sentiment.runtime.contract import pad_batch
from lstm_sentiment.runtime.model import MODELS_DIR, SentimentModel
from lstm_sentiment.runtime.readers import InputSpec, open_input
from lstm_sentiment.runtime.signature import IDS, OUTPUT, TEXT, VARIANTS
from lstm_sentiment.runtime.writers import open_output
from lstm_sentiment.train import imdb

BATCH = 256


def model_alone(path: Path, inputs: list[Any], takes_text: bool) -> Callable[[], None]:
    """Scoring ``inputs`` (id arrays or texts) in a plain session: length-sorted batches."""
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    order = sorted(range(len(inputs)), key=lambda i: len(inputs[i]))
    if takes_text:
        feeds = [
            {TEXT: np.array([inputs[i] for i in order[s : s + BATCH]], dtype=object)}
            for s in range(0, len(order), BATCH)
        ]
    else:
        feeds = [
            {IDS: pad_batch([inputs[i] for i in order[s : s + BATCH]])[0]}
            for s in range(0, len(order), BATCH)
        ]

    def run() -> None:
        for feed in feeds:
            session.run([OUTPUT], feed)

    return run


def read_all(csv_path: Path) -> list[Any]:
    with open_input(InputSpec(str(csv_path))) as source:
        return list(source)


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def cpu_account(function: Callable[[], Any], repeats: int) -> dict[str, float]:
    """Wall seconds, the process's CPU seconds and this thread's, each the median of
    ``repeats`` calls of ``function``."""
    runs = []
    for _ in range(repeats):
        wall, cpu, own = time.perf_counter(), _process_cpu(), time.thread_time()
        function()
        runs.append((time.perf_counter() - wall, _process_cpu() - cpu, time.thread_time() - own))
    return {
        key: statistics.median(run[i] for run in runs)
        for i, key in enumerate(("wall", "cpu", "this_thread_cpu"))
    }


def write_all(rows: list[Any], out: Path) -> None:
    with open_output(str(out), "csv") as writer:
        for start in range(0, len(rows), 4096):
            writer.write(rows[start : start + 4096])


def measure(variant: str, path: Path, work: Path, csv_path: Path, repeats: int) -> dict[str, Any]:
    model = SentimentModel.load(str(path), "cpu", threads=1)
    records = read_all(csv_path)
    texts = [r.text or "" for r in records]
    encoded = None if model.takes_text else model.contract.encode_many(texts)
    plain = model_alone(path, texts if model.takes_text else encoded, model.takes_text)
    _, workers = parallelism("cpu", None, None)
    runtime_call = (
        (lambda: model.score_texts(texts, BatchOptions.batch_size, workers))
        if model.takes_text
        else (lambda: model.score_encoded(encoded, BatchOptions.batch_size, workers))
    )
    plain(), runtime_call()  # warm-up: the first runs allocate
    # Rounds of the three back to back, so that a machine that slows down or speeds up
    # during the run (shared hosts do) moves the model alone and scorer batch alike.
    plain_runs, runtime_runs, runs = [], [], []
    for _ in range(repeats):
        plain_runs.append(timed(plain, repeats=1))
        runtime_runs.append(timed(runtime_call, repeats=1))
        runs.append(run_scorer(csv_path, str(path), work / "out.csv"))
    plain_s, runtime_s = statistics.median(plain_runs), statistics.median(runtime_runs)
    end_to_end = statistics.median(r[0] for r in runs)
    one = work / "one.csv"
    imdb.write_csv([imdb.Review("one", "test", 1, 8, "A fine film.")], one)
    parts = {
        "start-up": statistics.median(
            run_scorer(one, str(path), work / "one-out.csv")[0] for _ in range(repeats)
        ),
        "reading": timed(read_all, csv_path, repeats=repeats),
        "tokenizing": None
        if model.takes_text
        else timed(lambda: model.contract.encode_many(texts), repeats=repeats),
        "model": min(plain_s, runtime_s),
    }
    scores = model.score_encoded(encoded) if encoded is not None else model.score_texts(texts)[0]
    rule = model.label_rule()
    rows = [(r.id, float(s), rule(float(s)), "", (), None)
            for r, s in zip(records, scores, strict=True)]  # fmt: skip
    parts["writing"] = timed(write_all, rows, work / "written.csv", repeats=repeats)
    options = BatchOptions(model=str(path))
    cpu = {
        "model": cpu_account(runtime_call, repeats),
        "score_file": cpu_account(
            lambda: score_file(
                InputSpec(str(csv_path)), str(work / "in-process.csv"), options, model
            ),
            repeats,
        ),
    }
    return {
        "variant": variant,
        "reviews": len(records),
        "cores": workers,
        "end_to_end_seconds": end_to_end,
        "peak_mb": max(r[1] for r in runs),
        "model_seconds": parts["model"],
        "model_plain_session_seconds": plain_s,
        "model_runtime_call_seconds": runtime_s,
        "share_of_model": parts["model"] / end_to_end,
        "parts_seconds": parts,
        "cpu_seconds": cpu,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=MODELS_DIR)
    parser.add_argument("--copies", type=int, default=4, help="times the test split is written")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--variants", default="fp32,int8,text-fp32,text-int8")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants or args.copies < 1 or args.repeats < 1:
        sys.exit(
            f"error: --variants takes {', '.join(VARIANTS)}; --copies and --repeats must be >= 1"
        )
    paths = {v: args.models / VARIANTS[v].file for v in variants}
    if missing := [str(p) for p in paths.values() if not p.is_file()]:
        sys.exit(f"error: no model file {', '.join(missing)}")
    try:
        reviews = imdb.load_split(imdb.resolve_source(args.data), "test")
    except imdb.DataError as error:
        sys.exit(f"error: {error}")
    print(f"machine: {machine()}", flush=True)
    results = []
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        csv_path = work / "reviews.csv"
        rows = imdb.write_csv(repeated(reviews, args.copies), csv_path)
        print(f"{rows:,} reviews ({csv_path.stat().st_size / 1e6:.0f} MB CSV)", flush=True)
        for variant in variants:
            results.append(measure(variant, paths[variant], work, csv_path, args.repeats))
            print(f"  measured {variant}", flush=True)
    _print(results)
    if args.json:
        figures = {"machine": machine(), "results": results}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


def _print(results: list[dict[str, Any]]) -> None:
    names = ["start-up", "reading", "tokenizing", "model", "writing"]
    print()
    print("| model | plain session, reviews/s | runtime's call | scorer batch | share | peak MB | "
          + " | ".join(f"{n} s" for n in names) + " |")  # fmt: skip
    print("| --- " * (6 + len(names)) + "|")
    for r in results:
        n = r["reviews"]
        parts = [r["parts_seconds"][name] for name in names]
        cells = ["-" if p is None else f"{p:.2f}" for p in parts]
        print(
            f"| {r['variant']} | {n / r['model_plain_session_seconds']:,.0f} | "
            f"{n / r['model_runtime_call_seconds']:,.0f} | "
            f"{n / r['end_to_end_seconds']:,.0f} | {r['share_of_model']:.0%} | "
            f"{r['peak_mb']:.0f} | " + " | ".join(cells) + " |"
        )
    print()
    print("| model | runtime's call: wall s | its CPU s | score_file: wall s | its CPU s | "
          "of which its own thread | cores busy | model threads' CPU / the call's |")  # fmt: skip
    print("| --- " * 8 + "|")
    for r in results:
        model, run = r["cpu_seconds"]["model"], r["cpu_seconds"]["score_file"]
        threads = (run["cpu"] - run["this_thread_cpu"]) / model["cpu"]
        busy = run["cpu"] / (run["wall"] * r["cores"])
        print(
            f"| {r['variant']} | {model['wall']:.2f} | {model['cpu']:.2f} | {run['wall']:.2f} | "
            f"{run['cpu']:.2f} | {run['this_thread_cpu']:.2f} | {busy:.0%} | {threads:.2f} |"
        )


if __name__ == "__main__":
    main()
