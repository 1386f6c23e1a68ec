"""Benchmark: ``scorer batch`` on many files, the local engine against the Ray engine.

    python -m benchmarks.scale [--data PATH] [--files 8] [--repeats 3]
    python -m benchmarks.scale --one-file 4        # one file of 100,000 reviews
    python -m benchmarks.scale --one-file 4 --standing   # the same on a standing cluster

Writes ``--files`` copies of the 25,000-review IMDb test split as CSV files (with
``--one-file N``, one CSV file of N copies, which the Ray engine splits into ranges,
``runtime/ranges.py``), then scores the
folder with ``scorer batch DIR -o OUT/ --model int8`` in a fresh process for each engine,
alternating engines, ``--repeats`` times: the local engine (one process, one batch per
core) and ``--engine ray`` (a local Ray instance started by that process, one actor per
CPU). Prints each run, the medians, reviews/s per engine and per worker CPU, and the ratio
ray/local. The Ray figure includes starting Ray and its workers (a few seconds), which a
standing cluster would not pay per job; ``--standing`` starts one on this machine first
(``ray start --head``, as many CPUs as the machine has) and runs every Ray job against it
(``--address``), so that the figure is the jobs' own.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from benchmarks.speed import repeated
from lstm_sentiment.export.machine import machine
from lstm_sentiment.train import imdb


def run_job(folder: Path, out: Path, engine: str, address: str | None = None) -> float:
    command = [sys.executable, "-m", "lstm_sentiment.runtime", "batch", str(folder),
               "-o", f"{out}/", "--model", "int8", "--engine", engine, "--no-resume",
               "--quiet"]  # fmt: skip
    if address and engine == "ray":
        command += ["--address", address]
    env = standing_env() if address else {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    seconds = time.perf_counter() - started
    if result.returncode not in (0, 3):
        raise RuntimeError(f"scorer batch --engine {engine} failed: {result.stderr[-2000:]}")
    return seconds


def standing_env() -> dict[str, str]:
    # Ray's token authentication is for clusters others can reach; this one listens on
    # 127.0.0.1 for the benchmark's own jobs only.
    return {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}


@contextlib.contextmanager
def standing(wanted: bool, cpus: int) -> Iterator[str | None]:
    """The address of a Ray cluster started on this machine for the run (None: none)."""
    if not wanted:
        yield None
        return
    ray = Path(sys.executable).with_name("ray")
    port = "6391"
    env = standing_env()
    start = [str(ray), "start", "--head", f"--port={port}", f"--num-cpus={cpus}",
             "--include-dashboard=false", "--node-ip-address=127.0.0.1"]  # fmt: skip
    subprocess.run(start, check=True, capture_output=True, env=env)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(ray), "stop", "--force"], check=False, capture_output=True, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--one-file", type=int, default=0, metavar="N", help="one file of N copies instead"
    )
    parser.add_argument(
        "--standing", action="store_true", help="run the Ray jobs on a cluster started first"
    )
    args = parser.parse_args()
    try:
        reviews = imdb.load_split(imdb.resolve_source(args.data), "test")
    except imdb.DataError as error:
        sys.exit(f"error: {error}")
    cpus = os.cpu_count() or 1
    copies = args.one_file or args.files
    total = len(reviews) * copies
    print(f"machine: {machine()}")
    shape = "one file of" if args.one_file else f"{args.files} files x {len(reviews):,} ="
    where = "a standing local cluster" if args.standing else "a local instance per job"
    print(f"{shape} {total:,} reviews; int8 model; Ray on {where}")
    with (
        tempfile.TemporaryDirectory(prefix="scale-benchmark-") as work,
        standing(args.standing, cpus) as address,
    ):
        folder = Path(work) / "in"
        folder.mkdir()
        if args.one_file:
            imdb.write_csv(repeated(reviews, args.one_file), folder / "all.csv")
        for i in range(0 if args.one_file else args.files):
            imdb.write_csv(reviews, folder / f"part-{i:03d}.csv")
        seconds: dict[str, list[float]] = {"local": [], "ray": []}
        for repeat in range(args.repeats):
            for engine in ("local", "ray"):
                taken = run_job(folder, Path(work) / f"out-{engine}", engine, address)
                seconds[engine].append(taken)
                print(f"  run {repeat + 1}, {engine}: {taken:.1f} s", flush=True)
    print()
    print("| engine | median s | reviews/s | reviews/s per worker CPU |")
    print("| --- | --- | --- | --- |")
    speed = {}
    for engine, runs in seconds.items():
        median = statistics.median(runs)
        speed[engine] = total / median
        print(f"| {engine} | {median:.1f} | {speed[engine]:,.0f} | {speed[engine] / cpus:,.0f} |")
    print(f"\nray / local reviews/s: {speed['ray'] / speed['local']:.2f} ({cpus} CPUs)")


if __name__ == "__main__":
    main()
