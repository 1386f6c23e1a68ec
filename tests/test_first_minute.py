"""What a new user meets first: scoring one review, plain-text and headerless input, the
file's own ids, files as Excel and editors write them, thresholds and label names. Each
test's name says the behaviour it expects."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstm_sentiment.runtime.cli import app
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.runtime.readers import NO_WORDS

runner = CliRunner()
REVIEWS = ["Not bad at all.", "A wonderful, moving film.", "Dull and far too long."]


@pytest.fixture(scope="module")
def fp32():
    return SentimentModel.load("fp32", "cpu")


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def batch_stdout(path: Path, *args: str):
    result = runner.invoke(app, ["batch", str(path), "-o", "-", "-q", *args])
    return result, rows_of(result.stdout)


# -- scorer score ------------------------------------------------------------------------


def test_scorer_score_prints_each_reviews_score_and_label_on_its_own_line(fp32):
    result = runner.invoke(app, ["score", *REVIEWS])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    for line, review, expected in zip(lines, REVIEWS, fp32.score(REVIEWS), strict=True):
        score, label, text = line.split(maxsplit=2)
        assert float(score) == pytest.approx(float(expected), abs=1e-4)
        assert label == fp32.labels[int(expected >= 0.5)]
        assert text == review


def test_scorer_score_json_gives_the_same_numbers_as_sentiment_model_score(fp32):
    result = runner.invoke(app, ["score", "--json", *REVIEWS, "!!!"])
    assert result.exit_code == 3  # one review has no word the model reads
    items = [json.loads(line) for line in result.stdout.splitlines()]
    assert [i["text"] for i in items] == [*REVIEWS, "!!!"]
    expected = fp32.score(REVIEWS)
    assert [i["score"] for i in items[:3]] == [round(float(s), 6) for s in expected]
    assert [i["label"] for i in items[:3]] == fp32.label(REVIEWS)
    assert items[3] == {"text": "!!!", "score": None, "label": None, "error": NO_WORDS}


def test_scorer_score_dash_reads_one_review_a_line_from_stdin(fp32):
    result = runner.invoke(app, ["score", "--json", "-"], input="Great film\n\nAwful, dull\n\n")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [i["text"] for i in lines] == ["Great film", "", "Awful, dull"]  # trailing blank: none
    assert lines[1]["score"] is None and lines[1]["error"] == "the review is empty"
    assert lines[0]["score"] == round(float(fp32.score("Great film")), 6)
    assert result.exit_code == 3


def test_scorer_score_with_a_raw_text_model_agrees_with_the_token_id_model(fp32):
    result = runner.invoke(app, ["score", "--json", "-m", "text-fp32", *REVIEWS])
    assert result.exit_code == 0, result.output
    scores = [json.loads(line)["score"] for line in result.stdout.splitlines()]
    assert scores == pytest.approx([float(s) for s in fp32.score(REVIEWS)], abs=1e-6)


def test_threshold_moves_labels_in_score_batch_and_the_api(fp32, tmp_path):
    review = "Not bad at all."
    value = float(fp32.score(review))
    above, below = min(1.0, value + 0.05), max(0.0, value - 0.05)
    assert fp32.label(review, threshold=below) == "positive"
    assert fp32.label(review, threshold=above) == "negative"
    out = runner.invoke(app, ["score", "--json", "--threshold", str(below), review]).stdout
    assert json.loads(out)["label"] == "positive"
    path = tmp_path / "one.csv"
    path.write_text(f"review\n{review}\n", encoding="utf-8")
    _, rows = batch_stdout(path, "--threshold", str(below))
    assert rows[0]["label"] == "positive"
    _, rows = batch_stdout(path, "--threshold", str(above))
    assert rows[0]["label"] == "negative"
    bad = runner.invoke(app, ["score", "--threshold", "1.5", review])
    assert bad.exit_code == 2


def test_sentiment_model_label_names_each_review_and_none_without_words(fp32):
    labels = fp32.label(["A wonderful, moving film.", "Dull and far too long.", "!!!"])
    assert labels == ["positive", "negative", None]
    assert fp32.label("A wonderful, moving film.") == "positive"


# -- plain text and headerless stdin -------------------------------------------------------


def test_a_txt_file_is_one_review_a_line_every_line_a_record(tmp_path, fp32):
    path = tmp_path / "reviews.txt"
    path.write_text("Great film\n\nAwful, dull\nid,review\n\n\n", encoding="utf-8")
    result, rows = batch_stdout(path)
    assert result.exit_code == 3  # the blank line in the middle is an error record
    assert [r["id"] for r in rows] == ["1", "2", "3", "4"]
    assert rows[1]["error"] == "the line is blank" and rows[1]["score"] == ""
    assert float(rows[0]["score"]) == pytest.approx(float(fp32.score("Great film")), abs=1e-6)
    assert rows[3]["score"]  # a line that looks like a header is a review here


def test_format_text_reads_stdin_one_review_a_line():
    result = runner.invoke(app, ["batch", "-", "-o", "-", "--format", "text"], input="Good\nBad\n")
    assert result.exit_code == 0, result.output
    assert [r["id"] for r in rows_of(result.stdout)] == ["1", "2"]


def test_a_one_line_csv_on_stdin_is_never_a_silent_success():
    result = runner.invoke(app, ["batch", "-", "-o", "-"], input="Not bad at all\n")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "--format text" in result.stderr and "scorer score" in result.stderr


def test_a_headerless_review_file_says_its_first_line_became_the_header():
    result = runner.invoke(app, ["batch", "-", "-o", "-"], input="Great fun\nAwful and dull\n")
    assert result.exit_code == 0
    assert "'Great fun'" in result.stderr and "--format text" in result.stderr


def test_a_header_only_csv_with_a_usual_column_name_is_still_a_header_only_output():
    result = runner.invoke(app, ["batch", "-", "-o", "-"], input="review\n")
    assert result.exit_code == 0 and result.stdout == "id,score,label,error\n"


def test_a_tab_separated_txt_file_asks_for_format_tsv(tmp_path):
    path = tmp_path / "export.txt"
    path.write_bytes("review\tstars\nGreat\t5\n".encode("utf-16"))
    result, _ = batch_stdout(path)
    assert result.exit_code == 2 and "--format tsv" in result.stderr


# -- ids -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["id", "ID", "Id"])
def test_a_column_called_id_is_the_output_id(tmp_path, name):
    path = tmp_path / "ids.csv"
    path.write_text(f"{name},review\nA7,Great film\nB2,Awful\n", encoding="utf-8")
    result, rows = batch_stdout(path)
    assert result.exit_code == 0
    assert [r["id"] for r in rows] == ["A7", "B2"]


def test_a_json_lines_id_field_and_a_parquet_id_column_are_the_output_id(tmp_path):
    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"id": 70, "text": "Great"}\n{"id": 80, "text": "Dull"}\n', "utf-8")
    result = runner.invoke(app, ["batch", str(jsonl), "-o", "-", "-q", "--output-format", "jsonl"])
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [70, 80]
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    parquet = tmp_path / "r.parquet"
    pq.write_table(pa.table({"Id": ["x", "y"], "review": ["Great", "Dull"]}), parquet)
    _, rows = batch_stdout(parquet)
    assert [r["id"] for r in rows] == ["x", "y"]


def test_files_without_an_id_column_keep_record_numbers(tmp_path):
    path = tmp_path / "plain.csv"
    path.write_text("review,stars\nGreat,5\nDull,1\n", encoding="utf-8")
    _, rows = batch_stdout(path)
    assert [r["id"] for r in rows] == ["1", "2"]


# -- columns -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Review Text", "body", "comment", "Content", "review_text"])
def test_a_usual_text_column_name_is_found_without_text_column(tmp_path, name):
    path = tmp_path / "r.csv"
    path.write_text(f"stars,{name}\n5,Great film\n", encoding="utf-8")
    result, rows = batch_stdout(path)
    assert result.exit_code == 0, result.output
    assert rows[0]["label"] == "positive"


def test_two_usual_text_column_names_are_ambiguous(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("title,body,comment\nx,Great,Dull\n", encoding="utf-8")
    result, _ = batch_stdout(path)
    assert result.exit_code == 2 and "'body', 'comment'" in result.stderr


def test_compare_positive_names_the_positive_value_of_a_good_bad_file(tmp_path):
    path = tmp_path / "labelled.csv"
    path.write_text(
        'review,label\n"A wonderful, moving film.",good\nDull and far too long.,bad\n'
        "Superb acting and a great story.,good\nBoring and awful.,bad\n",
        encoding="utf-8",
    )
    failed = runner.invoke(app, ["compare", str(path)])
    assert failed.exit_code == 2 and "neither" in failed.stderr
    result = runner.invoke(app, ["compare", str(path), "--positive", "good", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["reviews"] == 4 and report["models"][0]["accuracy"] == 1.0


# -- files as other programs write them -------------------------------------------------------


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-be", "utf-32", "utf-8-sig"])
def test_unicode_files_with_a_byte_order_mark_are_read_without_encoding(tmp_path, codec):
    text = "review\tstars\nCafé was great – lovely film\t5\nAwful\t1\n"
    path = tmp_path / "r.tsv"
    data = text.encode(codec)
    if codec == "utf-16-be":
        data = b"\xfe\xff" + data
    path.write_bytes(data)
    result, rows = batch_stdout(path)
    assert result.exit_code == 0, result.output
    assert [r["label"] for r in rows] == ["positive", "negative"]
    if codec == "utf-16":
        again, same = batch_stdout(path, "--encoding", "utf-16")
        assert again.exit_code == 0 and same == rows


def test_a_byte_order_mark_that_contradicts_encoding_names_the_right_one(tmp_path):
    path = tmp_path / "r.csv"
    path.write_bytes("review\nGreat\n".encode("utf-16"))
    result, _ = batch_stdout(path, "--encoding", "cp1252")
    assert result.exit_code == 2 and "--encoding utf-16" in result.stderr


def test_blank_lines_at_the_end_of_json_lines_are_not_records(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"text": "Great"}\n\n{"text": "Dull"}\n\n\n', encoding="utf-8")
    result, rows = batch_stdout(path)
    assert [r["error"] for r in rows] == ["", "the line is blank", ""]
    assert result.exit_code == 3  # the blank line in the middle stays a record


def test_own_data_training_reads_delimiter_and_encoding_like_the_scorer(tmp_path):
    from lstm_sentiment.runtime.readers import InputSpec, ReadOptions
    from lstm_sentiment.train.datasets import FileData

    path = tmp_path / "semi.csv"
    lines = ["text;verdict"] + [
        f"{'great fine film' if i % 2 else 'awful dull plot'} {i};{'good' if i % 2 else 'bad'}"
        for i in range(80)
    ]
    path.write_bytes("\n".join(lines).encode("utf-16"))
    data = FileData.read(
        InputSpec(str(path), ReadOptions(label_column="verdict", delimiter=";")),
        positive="good",
        seed=1,
    )
    assert data.labels == ("bad", "good") and len(data.labelled()) + len(data.test()) == 80


def test_lstm_sentiment_train_has_delimiter_encoding_and_format_options():
    from lstm_sentiment.export.cli import app as toolchain

    result = runner.invoke(toolchain, ["train", "--help"], env={"COLUMNS": "200"})
    assert all(o in result.stdout for o in ("--delimiter", "--encoding", "--format"))


def test_a_closed_stdout_ends_the_run_quietly(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("review\n" + "a fine film with good acting\n" * 20000, encoding="utf-8")
    command = (
        f"{sys.executable} -m lstm_sentiment.runtime batch {path} -o - | head -2; "
        "echo exit=${PIPESTATUS[0]}"
    )
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
    lines = done.stdout.splitlines()
    assert lines[0] == "id,score,label,error" and lines[1].startswith("1,")
    assert lines[-1] == "exit=141"  # 128 + SIGPIPE, as a Unix tool killed by it
    assert done.stderr == ""


# -- wording -----------------------------------------------------------------------------------


def test_the_summary_counts_in_plurals(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("review\nGreat film\n!!!\n", encoding="utf-8")
    result = runner.invoke(app, ["batch", str(path), "-o", "-"])
    assert "1 error;" in result.stderr and "100.0% positive" in result.stderr


def test_compare_agreement_never_prints_four_decimals_of_a_percent(tmp_path):
    from lstm_sentiment.runtime.compare import _share

    assert _share(1.0) == "100%" and _share(0.99999) == ">99.99%" and _share(0.9876) == "98.76%"


def test_the_card_states_how_many_reviews_it_was_measured_on_with_an_interval():
    from lstm_sentiment.export.card import _error_rate, wilson_interval

    low, high = wilson_interval(80, 80)
    assert high == 1.0 and 0.95 < low < 0.96
    said = _error_rate(1.0, 80)
    assert "80 test reviews" in said and "95% interval" in said and "1000000000" not in said
    assert "one review in 22" in said  # 1 / (1 - 0.9542): no more precise than 80 allow
    big = _error_rate(0.921, 25_000)
    assert "about one review in 13" in big


def test_the_label_rule_names_scores_with_the_models_own_labels():
    from lstm_sentiment.runtime.labels import LabelRule

    rule = LabelRule(("bad", "good"), 0.5)
    assert [rule(v) for v in (0.2, 0.5, 0.7)] == ["bad", "good", "good"] and rule(None) is None
    assert rule(float("nan")) is None and rule.positive == "good"
