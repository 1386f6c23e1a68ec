"""The release models shipped as package data: present, self-describing, and still true to
their model card when re-scored on the full test split."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from lstm_sentiment.export.card import CARD_FILE, FIGURES_FILE, render_card
from lstm_sentiment.runtime.metrics import binary_metrics
from lstm_sentiment.runtime.model import MODELS_DIR, SentimentModel
from lstm_sentiment.runtime.signature import VARIANTS
from lstm_sentiment.train import imdb

onnx = pytest.importorskip("onnx", reason="reading the graphs needs the 'train' extra")

REPO = Path(__file__).resolve().parents[1]
TOKEN_VARIANTS = ("fp32", "int8")


@pytest.fixture(scope="module")
def figures():
    return json.loads((MODELS_DIR / FIGURES_FILE).read_text(encoding="utf-8"))


def test_the_card_is_exactly_what_its_figures_render_to(figures):
    assert (MODELS_DIR / CARD_FILE).read_text(encoding="utf-8") == render_card(figures)
    assert figures["test_reviews"] == 25_000 and figures["test_subset"] is False
    assert all(check["passed"] for check in figures["checks"])


@pytest.mark.parametrize("variant", [*TOKEN_VARIANTS, "text-fp32", "text-int8"])
def test_each_file_describes_itself(variant, figures):
    model = SentimentModel.load(variant)
    meta = model.metadata
    assert meta["variant"] == variant
    assert meta["model_version"] == figures["model_version"]
    assert meta["labels"] == ["negative", "positive"] and meta["threshold"] == 0.5
    assert model.contract.vocab_size == meta["training_config"]["vocab_size"] == 20_000
    assert model.contract.max_length == 500
    assert meta["evaluation"]["this_model"] == figures[variant.removeprefix("text-")]
    assert meta["exporter"]["opset"] == 17  # of the token-id graph inside
    assert (meta["quantization"] is None) == variant.endswith("fp32")
    assert model.takes_text == variant.startswith("text-")
    assert meta["io"]["input"]["name"] == ("review" if model.takes_text else "token_ids")


def test_fp32_uses_standard_operators_only_and_int8_names_its_contrib_ops():
    fp32 = onnx.load(MODELS_DIR / VARIANTS["fp32"].file)
    int8 = onnx.load(MODELS_DIR / VARIANTS["int8"].file)
    assert {node.domain for node in fp32.graph.node} <= {"", "ai.onnx"}
    assert "LSTM" in {node.op_type for node in fp32.graph.node}
    contrib = {node.op_type for node in int8.graph.node if node.domain == "com.microsoft"}
    assert "DynamicQuantizeLSTM" in contrib


@pytest.mark.parametrize("variant", TOKEN_VARIANTS)
def test_the_ort_form_scores_like_the_onnx_file(variant):
    onnx_model = SentimentModel.load(variant)
    ort_model = SentimentModel.load(MODELS_DIR / VARIANTS[variant].file.replace(".onnx", ".ort"))
    with (REPO / "samples" / "reviews.csv").open(newline="", encoding="utf-8") as f:
        texts = [row["review"] for row in csv.DictReader(f)]
    np.testing.assert_allclose(ort_model.score(texts), onnx_model.score(texts), atol=1e-6)


def test_sample_reviews_that_are_plainly_one_sided_get_that_label():
    model = SentimentModel.load("fp32")
    with (REPO / "samples" / "reviews.csv").open(newline="", encoding="utf-8") as f:
        rows = {row["id"]: row["review"] for row in csv.DictReader(f)}
    scores = dict(zip(rows, model.score(list(rows.values())), strict=True))
    for plainly_positive in ("1", "4", "7", "10"):
        assert scores[plainly_positive] > 0.5, (plainly_positive, scores)
    for plainly_negative in ("2", "8"):
        assert scores[plainly_negative] < 0.5, (plainly_negative, scores)


@pytest.mark.imdb
@pytest.mark.parametrize("variant", TOKEN_VARIANTS)
def test_rescoring_the_full_test_split_matches_the_card(variant, figures, imdb_archive):
    reviews = imdb.load_split(imdb_archive, "test")
    labels = np.array([r.label for r in reviews])
    model = SentimentModel.load(variant)
    measured = binary_metrics(labels, model.score([r.text for r in reviews]), model.threshold)
    card = figures[variant]
    # Identical on the machine that exported; a few borderline reviews may flip elsewhere
    # (int8 arithmetic differs between CPUs), so allow five reviews' worth of difference.
    assert measured["n"] == card["n"] == 25_000
    for key in ("accuracy", "precision", "recall", "f1"):
        assert abs(measured[key] - card[key]) <= 5 / 25_000, (key, measured[key], card[key])
    assert abs(measured["roc_auc"] - card["roc_auc"]) <= 1e-4
    assert (
        abs(measured["ece"] - card["ece"]) <= 1e-3
        and abs(measured["brier"] - card["brier"]) <= 1e-4
    )


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_every_shipped_file_is_calibrated_inside_and_explains(variant, figures):
    model = SentimentModel.load(variant)
    calibration = model.metadata["calibration"]
    assert (
        calibration == figures["calibration"] and calibration["fitted_on"] == "validation reviews"
    )
    assert 0.3 < calibration["temperature"] < 1.0  # distilled students are underconfident
    assert calibration["after"]["log_loss"] < calibration["before"]["log_loss"]
    assert model.explains
    assert figures["fp32"]["ece"] <= 0.015  # the card's calibration on the test split
