"""The raw-text model embedded from another language: the Node.js sample under
samples/embed-node gives the Python runtime's probabilities for the same reviews."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lstm_sentiment.runtime.model import MODELS_DIR, SentimentModel
from lstm_sentiment.runtime.signature import VARIANTS
from tests.conftest import npm_install

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "embed-node"
REVIEWS = [
    "A wonderful, moving film; I'd watch it again.",
    "Dull<br /><br />and far TOO long.",
    "",
    "Café 😀 映画",
    "It's not bad... it's TERRIBLE!",
]


@pytest.fixture(scope="module")
def node_sample(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("samples")
    folder, web = root / "embed-node", root / "web"
    folder.mkdir()
    web.mkdir()
    for name in ("package.json", "score.js"):
        shutil.copy(SAMPLE / name, folder / name)
    for name in ("package.json", "metadata.js"):  # the metadata reader it shares with the page
        shutil.copy(SAMPLE.parent / "web" / name, web / name)
    npm_install(folder)
    return folder


def run_node(folder: Path, variant: str | Path, *args: str) -> subprocess.CompletedProcess:
    model = variant if isinstance(variant, Path) else MODELS_DIR / VARIANTS[variant].file
    return subprocess.run(
        ["node", "score.js", str(model), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("variant", ["text-fp32", "text-int8"])
def test_node_gives_the_python_probabilities(node_sample, variant):
    result = run_node(node_sample, variant, "--json", *REVIEWS)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [r["review"] for r in rows] == REVIEWS
    python = SentimentModel.load(variant, "cpu")
    # One batch in the same order on both sides (int8 scales depend on the batch).
    expected, counts = python.session.run(
        ["positive_probability", "token_count"], {"review": np.array(REVIEWS, dtype=object)}
    )
    assert [r["words"] for r in rows] == [int(c) - 1 for c in counts]
    # A review with no word the model reads has no score, as everywhere else.
    no_words = [i for i, c in enumerate(counts) if c <= 1]
    assert no_words == [REVIEWS.index("")]
    assert all(rows[i]["probability"] is None and rows[i]["label"] is None for i in no_words)
    scored = [i for i in range(len(REVIEWS)) if i not in no_words]
    got = [rows[i]["probability"] for i in scored]
    np.testing.assert_allclose(got, expected[scored], atol=1e-6)
    token = SentimentModel.load(variant.removeprefix("text-"), "cpu")
    ids, _ = token.contract.encode_batch(REVIEWS)
    np.testing.assert_allclose(got, token.score_ids(ids)[scored], atol=1e-6)
    assert [r["label"] for r in rows][:2] == ["positive", "negative"]


def test_node_reads_a_file_and_prints_labels(node_sample, tmp_path):
    reviews = tmp_path / "reviews.txt"
    reviews.write_text("A great film.\nAn awful film.\n", encoding="utf-8")
    result = run_node(node_sample, "text-int8", "--file", str(reviews))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("positive\t") and lines[1].startswith("negative\t")


def test_node_prints_the_models_own_label_names(node_sample, tmp_path):
    import onnx

    model = onnx.load(MODELS_DIR / VARIANTS["text-int8"].file)
    for prop in model.metadata_props:
        if prop.key == "lstm_sentiment.labels":
            prop.value = json.dumps(["bad", "good"])
    onnx.save(model, tmp_path / "relabelled.onnx")
    result = run_node(node_sample, tmp_path / "relabelled.onnx", "A great film.", "Awful.")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("good\t") and lines[1].startswith("bad\t")


def test_node_refuses_a_model_that_is_not_ours(node_sample, tmp_path):
    stranger = tmp_path / "stranger.onnx"
    stranger.write_bytes(b"\x08\x07")  # a valid protobuf field, no metadata at all
    result = run_node(node_sample, stranger, "A great film.")
    assert result.returncode == 1 and "no lstm-sentiment text contract" in result.stderr


def test_node_without_reviews_prints_usage_and_exits_2(node_sample):
    result = run_node(node_sample, "text-fp32")
    assert result.returncode == 2 and "usage" in result.stderr
