"""What the scorer-batch test files share: a CLI runner over files they write."""

from __future__ import annotations

import csv

from typer.testing import CliRunner

from lstm_sentiment.runtime.cli import app

runner = CliRunner()


def scorer(*args: str, input: bytes | str | None = None):
    return runner.invoke(app, ["batch", *args], input=input)


def write(tmp_path, name: str, data: bytes | str):
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def run_csv(tmp_path, data, *args: str):
    source = write(tmp_path, "in.csv", data)
    out = tmp_path / "out.csv"
    result = scorer(str(source), "-o", str(out), "--quiet", *args)
    rows = read_csv(out) if out.exists() else None
    return result, rows


def big_csv(tmp_path):
    """A CSV that takes a few seconds to score: long enough to stop a run half way."""
    source = tmp_path / "big.csv"
    with source.open("w") as f:
        f.write("review\n")
        for i in range(60_000):
            f.write(f"review number {i} was a great and moving film with a dull middle\n")
    return source
