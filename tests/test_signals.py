"""Ctrl-C and SIGTERM: a run stops with exit code 130, removes its temporary file and says what
it left."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.batch_helpers import big_csv


def sigterm_batch(source: Path, out: Path, started: Callable[[], bool]) -> str:
    """Run ``scorer batch SOURCE -o OUT`` in a process, SIGTERM it once ``started()``, and
    return the last line it wrote to stderr (after checking exit code 130)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "lstm_sentiment.runtime", "batch", str(source), "-o", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be stopped"
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    return stderr.strip().splitlines()[-1]


def test_an_interrupted_job_says_its_finished_files_are_kept(tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.csv").write_text("id,review\n1,a fine film\n")
    big_csv(tmp_path).rename(inputs / "b.csv")
    out = tmp_path / "out"
    last = sigterm_batch(inputs, out, lambda: bool(list(out.glob(".b.csv.*.partial"))))
    kept = f"finished files are kept in {out}; the same command resumes the job"
    assert last == f"interrupted; {kept}"
    assert (out / "a.csv").is_file() and not (out / "b.csv").exists()


def test_sigterm_removes_the_temporary_file_like_ctrl_c(tmp_path):
    out = tmp_path / "out.csv"
    last = sigterm_batch(
        big_csv(tmp_path), out, lambda: bool(list(tmp_path.glob(".out.csv.*.partial")))
    )
    assert last == "interrupted; nothing was written"
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*"))
