"""Atomic output: a run that fails or is killed never leaves a partial file, nor a header on
stdout."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from tests.batch_helpers import big_csv, scorer


def test_a_run_killed_half_way_leaves_no_file_at_the_output_path(tmp_path):
    source = big_csv(tmp_path)
    out = tmp_path / "out.csv"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "lstm_sentiment.runtime",
            "batch",
            str(source),
            "-o",
            str(out),
            "--quiet",
            "--window",
            "512",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".out.csv.*.partial")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists()


def test_a_failure_before_the_first_record_leaves_stdout_empty():
    result = scorer("-", "-o", "-", input='id,review\n1,"never closed\n')
    assert result.exit_code == 2 and result.stdout == ""
    header_only = scorer("-", "-o", "-", "--quiet", input="id,review\n")
    assert header_only.exit_code == 0 and header_only.stdout == "id,score,label,error\n"
