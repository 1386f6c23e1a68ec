"""Training on a user's own labelled file: labels named by the data, the held-out test set,
refusals with one clear line, and the whole path train -> export -> scorer on real reviews
under other label names."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstm_sentiment.export.cli import app
from lstm_sentiment.runtime.errors import InputError
from lstm_sentiment.runtime.labels import LabelError, LabelReader, label_text, order_labels
from lstm_sentiment.runtime.readers import InputSpec, ReadOptions
from lstm_sentiment.runtime.signature import VARIANTS
from lstm_sentiment.train.datasets import (
    MIN_ROWS_PER_LABEL,
    TEST_SHARE,
    DataFileError,
    FileData,
    for_run,
    stratified_holdout,
)
from tests.conftest import synthetic_review

runner = CliRunner()

BODY_VERDICT = ReadOptions(text_column="body", label_column="verdict")


def write_csv(path: Path, rows: list[tuple[str, str]], header=("body", "verdict")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def labelled_rows(per_label: int, names=("good", "bad")) -> list[tuple[str, str]]:
    rows = []
    for i in range(per_label):
        rows.append((synthetic_review(1, i), names[0]))
        rows.append((synthetic_review(0, i), names[1]))
    return rows


# -- label names -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"pos", "neg"}, ("neg", "pos")),
        ({"1", "0"}, ("0", "1")),
        ({"true", "false"}, ("false", "true")),
        ({"Positive", "NEGATIVE"}, ("NEGATIVE", "Positive")),
        ({"neg", "great"}, ("neg", "great")),  # one side said, the other is the rest
    ],
)
def test_obvious_label_values_need_no_positive_option(values, expected):
    assert order_labels(values) == expected


def test_other_label_values_need_positive_and_accept_it_in_any_case():
    with pytest.raises(LabelError, match="pass --positive 'bad' or --positive 'good'"):
        order_labels({"good", "bad"})
    assert order_labels({"good", "bad"}, positive="GOOD") == ("bad", "good")
    assert order_labels({"1", "0"}, positive="0") == ("1", "0")  # the user's word wins
    with pytest.raises(LabelError, match="'fine' is not a value"):
        order_labels({"good", "bad"}, positive="fine")


@pytest.mark.parametrize(
    ("counts", "match"),
    [
        ({"good": 40}, r"holds one value: 'good' \(40 rows\)"),
        ({"good": 4, "bad": 3, "meh": 1}, r"holds 3 values: 'bad' \(3 rows\), 'good'.*'meh'"),
        ({}, "holds no values"),
    ],
)
def test_a_label_column_without_exactly_two_values_is_refused(counts, match):
    with pytest.raises(LabelError, match=match):
        order_labels(counts)


def test_label_values_are_read_as_text_the_same_from_every_format():
    assert [label_text(v) for v in (1, 1.0, True, " good ", "", None, 0.5)] == [
        "1", "1", "true", "good", None, None, "0.5",
    ]  # fmt: skip
    read = LabelReader(("bad", "good"))
    assert [read(v, "x") for v in ("good", " BAD", 1, "0", False, "positive")] == [
        1, 0, 1, 0, 0, 1,
    ]  # fmt: skip
    with pytest.raises(LabelError, match="line 7: label 'meh' is neither 'good' nor 'bad'"):
        read("meh", "line 7")
    flipped = LabelReader(("1", "0"))  # a model's own names beat the usual spellings
    assert flipped("1", "x") == 0 and flipped("0", "x") == 1


# -- reading a labelled file -------------------------------------------------------------------


def test_the_test_set_is_a_seeded_stratified_share_never_trained_on(tmp_path):
    rows = labelled_rows(50) + [(synthetic_review(1, i), "good") for i in range(50, 100)]
    path = write_csv(tmp_path / "d.csv", rows)
    data = FileData.read(
        InputSpec(str(path), BODY_VERDICT),
        positive="good",
        seed=3,
    )
    assert data.labels == ("bad", "good")
    train, test = data.labelled(), data.test()
    assert len(train) + len(test) == len(rows)
    assert not {r.id for r in train} & {r.id for r in test}
    per_label = np.bincount([r.label for r in test], minlength=2)
    assert per_label.tolist() == [round(50 * TEST_SHARE), round(100 * TEST_SHARE)]
    texts = {r.text: label for r, label in ((r, r.label) for r in train + test)}
    assert all(texts[text] == (1 if name == "good" else 0) for text, name in rows)
    again = FileData.read(
        InputSpec(str(path), BODY_VERDICT),
        positive="good",
        seed=3,
    )
    other = FileData.read(
        InputSpec(str(path), BODY_VERDICT),
        positive="good",
        seed=4,
    )
    assert [r.id for r in again.test()] == [r.id for r in test]
    assert [r.id for r in other.test()] != [r.id for r in test]


def test_stratified_holdout_keeps_both_labels_on_both_sides():
    keep, held = stratified_holdout([0, 0, 1, 1, 1, 1, 1, 1, 1, 1], 0.2, seed=0)
    assert sorted(keep + held) == list(range(10))
    labels = np.array([0, 0, 1, 1, 1, 1, 1, 1, 1, 1])
    assert set(labels[held]) == {0, 1} and set(labels[keep]) == {0, 1}


def test_unusable_records_are_reported_with_their_lines_and_left_out(tmp_path):
    rows = labelled_rows(30) + [("", "good"), ("A fine film.", "")]
    path = write_csv(tmp_path / "d.csv", rows)
    told: list[str] = []
    data = FileData.read(
        InputSpec(str(path), BODY_VERDICT),
        positive="good",
        say=told.append,
    )
    assert len(data.labelled()) + len(data.test()) == 60
    assert len(told) == 1 and "left out 2 records of 62" in told[0]
    assert "line 62: the review is empty" in told[0] and "line 63: no label" in told[0]
    assert data.describe()["train"]["problems"] == [
        "line 62: the review is empty",
        "line 63: no label",
    ]


def test_json_lines_and_parquet_with_typed_labels(tmp_path):
    jsonl = tmp_path / "d.jsonl"
    with jsonl.open("w") as out:
        for i, (text, name) in enumerate(labelled_rows(30)):
            out.write(json.dumps({"text": text, "label": int(name == "good"), "n": i}) + "\n")
    data = FileData.read(InputSpec(str(jsonl)))  # columns guessed: text, label
    assert data.labels == ("0", "1")
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    rows = labelled_rows(30)
    table = pa.table({"Text": [t for t, _ in rows], "Sentiment": [n == "good" for _, n in rows]})
    pq.write_table(table, tmp_path / "d.parquet")
    data = FileData.read(InputSpec(str(tmp_path / "d.parquet")))
    assert data.labels == ("false", "true")
    assert sum(r.label for r in data.labelled() + data.test()) == 30


@pytest.mark.parametrize(
    ("rows", "match"),
    [
        (
            labelled_rows(MIN_ROWS_PER_LABEL // 2),
            rf"too few rows to train.*at least {MIN_ROWS_PER_LABEL} of each label",
        ),
        (
            [("", "good"), ("", "bad"), ("", "good")] * 20 + labelled_rows(25),
            "'body' is empty or unreadable in 60 of 110 records",
        ),
        ([("!!! ???", "good"), ("... ---", "bad")] * 40, "no vocabulary left"),
        (labelled_rows(30) + [("so-so", "meh")], r"holds 3 values"),
    ],
    ids=["too-few", "mostly-empty", "no-words", "three-labels"],
)
def test_files_that_cannot_be_trained_on_are_refused(tmp_path, rows, match):
    path = write_csv(tmp_path / "d.csv", rows)
    with pytest.raises((DataFileError, LabelError), match=match):
        FileData.read(
            InputSpec(str(path), BODY_VERDICT),
            positive="good",
        )


def test_a_missing_label_column_is_named_with_the_columns_there(tmp_path):
    path = write_csv(tmp_path / "d.csv", labelled_rows(30), header=("review", "stars"))
    with pytest.raises(InputError, match=r"columns are: 'review', 'stars'. Pass --label-column"):
        FileData.read(InputSpec(str(path)))


def test_a_test_file_with_other_labels_is_refused(tmp_path):
    train = write_csv(tmp_path / "train.csv", labelled_rows(30))
    test = write_csv(tmp_path / "test.csv", labelled_rows(3, names=("good", "awful")))
    with pytest.raises(DataFileError, match="label 'awful' is neither 'good' nor 'bad'"):
        FileData.read(
            InputSpec(str(train), BODY_VERDICT),
            positive="good",
            test=InputSpec(str(test), BODY_VERDICT),
        )


def test_a_run_refuses_a_data_file_that_changed_since_training(tmp_path):
    path = write_csv(tmp_path / "d.csv", labelled_rows(30))
    data = FileData.read(
        InputSpec(str(path), BODY_VERDICT),
        positive="good",
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "data.json").write_text(json.dumps(data.describe()))
    again = for_run(run)
    assert [r.id for r in again.test()] == [r.id for r in data.test()]
    assert again.labels == ("bad", "good")
    with pytest.raises(DataFileError, match="leave --data out"):
        for_run(run, tmp_path / "aclImdb_v1.tar.gz")
    with path.open("a") as out:
        out.write("One more review.,good\n")
    with pytest.raises(DataFileError, match="changed since the run was trained"):
        for_run(run)


# -- the command line --------------------------------------------------------------------------


TEXT = ["--text-column", "body"]
CSV = ["--data", "{csv}", *TEXT]


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (["--positive", "good"], "describe your own labelled file: pass it with --data FILE"),
        ([*CSV, "--label-column", "verdict"], "pass --positive 'bad' or"),
        ([*CSV, "--label-column", "nope"], "has no column 'nope'"),
        ([*CSV, "--label-column", "verdict", "--positive", "good", "--unlabelled", "{csv}"],
         "--unlabelled feeds the release recipe"),
    ],
    ids=["options-without-file", "which-positive", "no-column", "unlabelled-textbook"],
)  # fmt: skip
def test_train_refuses_bad_own_data_options_with_one_line(tmp_path, args, match):
    path = write_csv(tmp_path / "d.csv", labelled_rows(30))
    args = [a.replace("{csv}", str(path)) for a in args]
    result = runner.invoke(app, ["train", "--out", str(tmp_path / "run"), *args])
    assert result.exit_code == 2, result.output
    assert match in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run").exists()


# -- the whole path on real reviews ------------------------------------------------------------


@pytest.mark.slow
def test_own_labelled_file_trains_exports_and_scores_with_its_label_names(tmp_path, imdb_archive):
    from lstm_sentiment.runtime.cli import app as scorer
    from lstm_sentiment.train import imdb
    from lstm_sentiment.train.samplers import subset

    names = {1: "good", 0: "bad"}
    train = subset(imdb.load_split(imdb_archive, "train", check_counts=False), 1000, seed=5)
    unseen = subset(imdb.load_split(imdb_archive, "test", check_counts=False), 150, seed=5)
    data = write_csv(tmp_path / "tickets.csv", [(r.text, names[r.label]) for r in train])
    holdout = write_csv(tmp_path / "unseen.csv", [(r.text, names[r.label]) for r in unseen])
    run, models = tmp_path / "run", tmp_path / "models"

    result = runner.invoke(
        app,
        ["train", "--data", str(data), "--text-column", "body", "--label-column", "verdict",
         "--positive", "good", "--out", str(run), "--vocab-size", "5000", "--max-length", "200",
         "--epochs", "4", "--batch-size", "32", "--seed", "7"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    recorded = json.loads((run / "data.json").read_text())
    assert recorded["labels"] == ["bad", "good"] and recorded["rows"]["test"] == 400

    result = runner.invoke(app, ["evaluate", str(run)])
    assert result.exit_code == 0 and "test: n=400" in result.output, result.output

    result = runner.invoke(
        app, ["export", str(run), "--out", str(models), "--no-mobile",
              "--validation-reviews", "100"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    card = (models / "MODEL_CARD.md").read_text()
    assert "`tickets.csv`" in card and "label is `good` at or above" in card
    assert "Short reviews" not in card  # the file has no star ratings to cut them by

    fp32, int8 = (str(models / VARIANTS[v].file) for v in ("fp32", "int8"))
    scored = tmp_path / "scored.csv"
    result = runner.invoke(scorer, ["batch", str(holdout), *TEXT, "-o", str(scored), "-m", int8])
    assert result.exit_code == 0, result.output
    with scored.open() as stream:
        out = list(csv.DictReader(stream))
    assert len(out) == len(unseen) and {row["label"] for row in out} == {"good", "bad"}
    right = np.mean([row["label"] == names[r.label] for row, r in zip(out, unseen, strict=True)])
    assert right > 0.65, right

    result = runner.invoke(
        scorer, ["compare", str(holdout), *TEXT, "--label-column", "verdict", "--json",
                 "-m", fp32, "-m", int8],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["reviews"] == len(unseen) and report["models"][0]["accuracy"] > 0.65


def test_the_release_recipe_learns_from_an_unlabelled_file_too(tmp_path):
    pytest.importorskip("keras", reason="needs the train extra")
    data = write_csv(tmp_path / "d.csv", labelled_rows(40))
    unlabelled = tmp_path / "u.jsonl"
    unlabelled.write_text(
        "".join(json.dumps({"body": synthetic_review(i % 2, 500 + i)}) + "\n" for i in range(30))
    )
    run = tmp_path / "run"
    result = runner.invoke(
        app,
        ["train", "--recipe", "release", "--data", str(data), *TEXT, "--label-column",
         "verdict", "--positive", "good", "--unlabelled", str(unlabelled), "--out", str(run),
         "--epochs", "1",
         "--max-length", "24", "--embedding-dim", "8", "--lstm1-units", "8",
         "--lstm2-units", "4", "--vocab-size", "200", "--batch-size", "8"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    training = json.loads((run / "training.json").read_text())
    assert training["student_texts"]["unlabelled"] == 30
    assert training["data"]["unlabelled"] == "u.jsonl" and training["data"]["file"] == "d.csv"
    assert json.loads((run / "data.json").read_text())["unlabelled"]["path"] == str(unlabelled)
