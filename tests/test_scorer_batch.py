"""`scorer batch` end to end: one output record per input record, the same from the library and
the CLI. Each test's name says the behaviour it expects."""

from __future__ import annotations

import csv
import io

import pytest

from lstm_sentiment.runtime.batch import BatchOptions, score_file
from lstm_sentiment.runtime.readers import InputSpec
from tests.batch_helpers import read_csv, run_csv, scorer, write


def test_each_record_gets_id_score_label_and_empty_error(tmp_path):
    result, rows = run_csv(
        tmp_path, 'review\n"A wonderful, moving film."\nDull and far too long.\n'
    )
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in rows] == ["1", "2"]
    assert rows[0]["label"] == "positive" and rows[1]["label"] == "negative"
    assert all(0 <= float(r["score"]) <= 1 and r["error"] == "" for r in rows)


@pytest.mark.parametrize("window", [1, 2, 3, 5, 1000])
def test_same_output_for_every_window_and_batch_size(tmp_path, window):
    reviews = [f'"line one {i}\nline two, great"' if i % 3 else f"bad film {i}" for i in range(11)]
    data = "review\n" + "\n".join(reviews) + "\n"
    base, base_rows = run_csv(tmp_path, data)
    result, rows = run_csv(tmp_path, data, "--window", str(window), "--batch-size", str(window))
    assert result.exit_code == base.exit_code == 0
    assert rows == base_rows


def test_more_errors_than_max_errors_exits_4_and_writes_nothing(tmp_path):
    data = "review\n\n\n\ngood\n"
    result, rows = run_csv(tmp_path, data, "--max-errors", "2")
    assert result.exit_code == 4 and "max-errors" in result.output
    assert rows is None
    result, rows = run_csv(tmp_path, data, "--max-errors", "3")
    assert result.exit_code == 3 and len(rows) == 4


def test_stdin_to_stdout(tmp_path):
    result = scorer("-", "-o", "-", "--quiet", input="review\ngreat film\nawful film\n")
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["label"] for r in rows] == ["positive", "negative"]


def test_library_and_cli_give_the_same_scores(tmp_path, fp32):
    source = write(tmp_path, "in.csv", "review\ngreat film\nso dull\n")
    summary = score_file(InputSpec(str(source)), str(tmp_path / "lib.csv"), BatchOptions(), fp32)
    assert (summary.rows, summary.scored, summary.errors, summary.positive) == (2, 2, 0, 1)
    scorer(str(source), "-o", str(tmp_path / "cli.csv"))
    assert read_csv(tmp_path / "lib.csv") == read_csv(tmp_path / "cli.csv")
    assert [float(r["score"]) for r in read_csv(tmp_path / "lib.csv")] == pytest.approx(
        [float(s) for s in fp32.score(["great film", "so dull"])], abs=1e-6
    )


def test_the_raw_text_model_gives_the_same_output_as_the_token_model(tmp_path):
    data = 'id,review\n1,"A great, moving film"\n2,awful\n3,""\n4,!!!\n5,"Café<br />dull"\n'
    source = write(tmp_path, "in.csv", data)
    outputs = {}
    for model in ("fp32", "text-fp32"):
        out = tmp_path / f"{model}.csv"
        result = scorer(str(source), "-o", str(out), "--model", model, "--id-column", "id")
        assert result.exit_code == 3, result.output
        outputs[model] = read_csv(out)
    assert [r["error"] for r in outputs["fp32"]] == [r["error"] for r in outputs["text-fp32"]]
    for a, b in zip(outputs["fp32"], outputs["text-fp32"], strict=True):
        assert (a["id"], a["label"]) == (b["id"], b["label"])
        if a["score"]:
            assert float(a["score"]) == pytest.approx(float(b["score"]), abs=2e-6)


def test_a_folder_as_input_is_scored_into_a_folder_not_a_file(tmp_path):
    result = scorer(str(tmp_path), "-o", str(tmp_path / "out"))
    assert result.exit_code == 2 and "no input files found" in result.output
    write(tmp_path, "in.csv", "review\ngood\n")
    result = scorer(str(tmp_path), "-o", str(tmp_path / "o.csv"))
    assert result.exit_code == 2 and "pass -o FOLDER/" in result.output
    assert "--format" not in result.output
