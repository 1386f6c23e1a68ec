"""The toolchain CLI: help text, the data command, and clean failures on bad input."""

from __future__ import annotations

import csv
import os
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from lstm_sentiment.export.cli import app

runner = CliRunner()


def run(*args: str):
    return runner.invoke(app, list(args))


def test_top_level_help_lists_the_commands():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("train", "evaluate", "data"):
        assert command in result.output


@pytest.mark.parametrize("path", [["train"], ["evaluate"], ["data", "csv"], ["data", "check"]])
def test_every_option_of_every_command_has_help_text(path):
    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    for param in command.params:
        if param.name != "help":
            assert getattr(param, "help", None), f"{' '.join(path)}: {param.name} has no help"
    assert command.help


def test_data_csv_writes_id_rating_label_review(tiny_archive, tmp_path):
    out = tmp_path / "test.csv"
    result = run(
        "data", "csv", "test", "-o", str(out), "--data", str(tiny_archive), "--limit-per-label", "6"
    )
    assert result.exit_code == 0, result.output
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 12
    assert list(rows[0]) == ["id", "rating", "label", "review"]
    assert {r["label"] for r in rows} == {"positive", "negative"}


def test_data_csv_sample_is_seeded_and_balanced(tiny_archive, tmp_path):
    outs = []
    for name in ("a.csv", "b.csv"):
        out = tmp_path / name
        args = ("data", "csv", "train", "-o", str(out), "--data", str(tiny_archive))
        assert run(*args, "--limit-per-label", "2", "--seed", "5").exit_code == 0
        outs.append(out.read_text(encoding="utf-8"))
    assert outs[0] == outs[1]
    assert outs[0].count(",positive,") == 2 and outs[0].count(",negative,") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["data", "csv", "test", "-o", "x.csv", "--data", "/no/such/archive.tar.gz"],
            "does not exist",
        ),
        (["data", "csv", "dev", "-o", "x.csv", "--data", "{archive}"], "unknown split"),
        (["data", "csv", "test", "-o", "x.csv", "--data", "{archive}"], "official archive 12500"),
        (
            ["data", "csv", "test", "-o", "x.csv", "--data", "{corrupt}"],
            "not a readable IMDb archive",
        ),
        (
            ["data", "csv", "test", "-o", "x.csv", "--data", "{empty_dir}"],
            "holds no aclImdb/ folder",
        ),
        (["data", "check", "--data", "{archive}"], "official archive"),
        (
            ["train", "-o", "m", "--data", "{archive}", "--validation-split", "1.5"],
            "validation_split",
        ),
        (["train", "-o", "m", "--data", "{archive}", "--keep", "middle"], "keep must be"),
        (
            ["train", "-o", "m", "--data", "{archive}", "--config", "/no/config.json"],
            "bad training config",
        ),
        (
            ["train", "-o", "m", "--data", "{archive}", "--config", "{list_json}"],
            "no JSON object of settings",
        ),
        (
            ["train", "-o", "m", "--data", "{archive}", "--config", "{typo_json}"],
            "unknown training config keys: epoch",
        ),
        (["evaluate", "{empty_dir}", "--data", "{archive}"], "not a trained model folder"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(tiny_archive, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    corrupt = tmp_path / "corrupt.tar.gz"
    corrupt.write_bytes(b"\x1f\x8b not really gzip")
    (tmp_path / "empty").mkdir()
    (tmp_path / "list.json").write_text("[1, 2]")
    (tmp_path / "typo.json").write_text('{"recipe": "release", "epoch": 3}')
    values = {"archive": tiny_archive, "corrupt": corrupt, "empty_dir": tmp_path / "empty",
              "list_json": tmp_path / "list.json", "typo_json": tmp_path / "typo.json"}  # fmt: skip
    result = run(*[a.format(**values) for a in args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "x.csv").exists()


def test_an_unwritable_output_is_exit_2_without_traceback(tiny_archive, tmp_path):
    out = tmp_path / "no" / "such" / "folder" / "x.csv"
    result = run(
        "data", "csv", "test", "-o", str(out), "--data", str(tiny_archive), "--limit-per-label", "1"
    )
    assert result.exit_code == 2
    assert "cannot write" in result.output


def test_both_toolchain_entry_points_have_version_and_the_missing_extra_message(
    tmp_path, tiny_archive
):
    version = subprocess.run(
        [sys.executable, "-m", "lstm_sentiment.train", "--version"], capture_output=True, text=True
    )
    assert version.returncode == 0 and version.stdout.startswith("lstm-sentiment ")
    run = tmp_path / "run"
    run.mkdir()
    for name in ("model.keras", "contract.json"):
        (run / name).write_text("{}")
    code = (
        "import sys; sys.modules['keras'] = None; "
        f"sys.argv = ['x', 'evaluate', {str(run)!r}, '--data', {str(tiny_archive)!r}]; "
        "from lstm_sentiment.train.cli import main; main()"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "pip install 'lstm-sentiment[train]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_python_dash_m_entry_point_runs_the_same_app():
    result = subprocess.run(
        [sys.executable, "-m", "lstm_sentiment.train", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    assert "evaluate" in result.stdout


def test_train_help_shows_every_default_and_lstm_sentiment_has_a_version():
    result = runner.invoke(app, ["train", "--help"])
    flat = " ".join(result.output.replace("│", " ").split())
    assert "last or first (textbook: last)" in flat and " ." not in flat
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.output.startswith("lstm-sentiment ")


def test_tensorflow_logs_are_quiet_unless_verbose(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    args = ["evaluate", str(tmp_path)]  # fails fast (not a model folder), after the callback
    runner.invoke(app, args)
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"
    runner.invoke(app, ["--verbose", *args])
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


# A base install (the scorer alone) still has the lstm-sentiment command; its heavy imports
# are blocked here as if the 'train' extra were missing.
WITHOUT_TRAINING_EXTRA = """
import sys
for name in ("tensorflow", "keras", "tf2onnx", "onnx", "sklearn", "gensim"):
    sys.modules[name] = None
sys.argv = ["lstm-sentiment", *sys.argv[1:]]
from lstm_sentiment.export.cli import main
main()
"""


@pytest.mark.parametrize("command", ["train", "export"])
def test_without_the_train_extra_a_command_names_the_install(command, request, tmp_path):
    if command == "train":
        archive = request.getfixturevalue("tiny_archive")
        args = ["train", "--data", str(archive), "--limit-per-label", "2"]
    else:
        run = request.getfixturevalue("tiny_run")
        args = ["export", str(run), "--data", str(run.parent / "aclImdb_v1.tar.gz")]
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_TRAINING_EXTRA, *args, "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LSTM_SENTIMENT_DEBUG": ""},
    )
    assert result.returncode == 2, result.stderr
    assert "pip install 'lstm-sentiment[train]'" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()
