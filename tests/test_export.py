"""The export: native length-aware LSTM graphs, the numeric gates, the release files."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from lstm_sentiment.export import validate
from lstm_sentiment.export.card import CARD_FILE, FIGURES_FILE, render_card
from lstm_sentiment.export.convert import convert
from lstm_sentiment.export.lengths_pass import LENGTHS, GraphPassError, apply_lengths_pass
from lstm_sentiment.export.metadata import set_metadata
from lstm_sentiment.export.release import ExportOptions, export_release
from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.runtime.model import MODELS_DIR, SentimentModel
from lstm_sentiment.runtime.signature import EFFECTS, OUTPUT
from lstm_sentiment.runtime.signature import IDS as INPUT
from tests.conftest import synthetic_review

pytest.importorskip("tf2onnx", reason="the export tests need the 'train' extra")

TEXTS = [synthetic_review(i % 2, i) * (1 + i % 4) for i in range(40)] + ["", "Great!"]


def save_with_contract(model: onnx.ModelProto, run, path):
    contract = TextContract.load(run / "contract.json")
    set_metadata(model, contract, version="test", variant="fp32", extra={})
    onnx.save(model, path)
    return SentimentModel.load(path)


def keras_scores(run, texts, pad_to=None):
    from lstm_sentiment.train.model import load_model

    contract = TextContract.load(run / "contract.json")
    ids, _ = contract.encode_batch(texts, pad_to=pad_to or contract.max_length)
    return load_model(run / "model.keras").predict(ids, verbose=0).ravel()


RUNS = ["tiny_run", "tiny_bidirectional_run"]


@pytest.mark.parametrize("run_name", RUNS)
def test_graph_has_native_lstms_fed_the_true_lengths(run_name, request):
    tiny_run = request.getfixturevalue(run_name)
    model = convert(tiny_run)
    ops = [node.op_type for node in model.graph.node]
    assert ops.count("LSTM") == 2
    directions = [
        helper.get_attribute_value(a).decode()
        for node in model.graph.node
        if node.op_type == "LSTM"
        for a in node.attribute
        if a.name == "direction"
    ]
    first = "bidirectional" if run_name == "tiny_bidirectional_run" else "forward"
    assert directions == [first, "forward"]
    assert not {"Loop", "Scan", "If"} & set(ops)
    for node in model.graph.node:
        if node.op_type == "LSTM":
            assert node.input[4] == LENGTHS
    (inp,), (out, effects) = model.graph.input, model.graph.output
    assert inp.name == INPUT and inp.type.tensor_type.elem_type == TensorProto.INT32
    assert out.name == OUTPUT and len(out.type.tensor_type.shape.dim) == 1
    assert effects.name == EFFECTS and len(effects.type.tensor_type.shape.dim) == 2
    assert [o.name for o in convert(tiny_run, effects=False).graph.output] == [OUTPUT]
    onnx.checker.check_model(model, full_check=True)


@pytest.mark.parametrize("run_name", RUNS)
def test_onnx_matches_masked_keras_and_padding_never_matters(run_name, request, tmp_path):
    tiny_run = request.getfixturevalue(run_name)
    model = save_with_contract(convert(tiny_run), tiny_run, tmp_path / "m.onnx")
    expected = keras_scores(tiny_run, TEXTS)
    encoded = [model.contract.encode(t) for t in TEXTS]
    np.testing.assert_allclose(model.score_encoded(encoded), expected, atol=1e-5)
    checks = validate.padding_invariance(model, TEXTS) + validate.batch_invariance(model, TEXTS)
    assert all(c.passed for c in checks), checks
    assert max(c.value for c in checks) == 0.0


@pytest.mark.parametrize("run_name", RUNS)
def test_without_the_lengths_pass_padding_changes_scores(run_name, request, tmp_path):
    tiny_run = request.getfixturevalue(run_name)
    # The plain unmasked conversion is what the pass exists to fix; this shows it matters.
    model = save_with_contract(convert(tiny_run, lengths_pass=False), tiny_run, tmp_path / "m.onnx")
    (check,) = validate.padding_invariance(model, TEXTS)
    assert not check.passed and check.value > 1e-4


def test_the_pass_refuses_a_graph_without_lstm():
    graph = helper.make_graph(
        [helper.make_node("Identity", ["token_ids"], ["y"])],
        "g",
        [helper.make_tensor_value_info("token_ids", TensorProto.INT32, ["b", "t"])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, ["b", "t"])],
    )
    with pytest.raises(GraphPassError, match="no native LSTM"):
        apply_lengths_pass(helper.make_model(graph))


def test_keras_gate_fails_on_a_large_difference_or_a_flipped_label():
    keras = np.array([0.2, 0.7, 0.49])
    assert all(c.passed for c in validate.against_keras(keras + 1e-6, keras, 0.5))
    failed = validate.against_keras(np.array([0.2, 0.7, 0.51]), keras, 0.5)
    assert [c.passed for c in failed] == [False, False]
    with pytest.raises(validate.ValidationError, match="fp32 vs Keras max abs dp"):
        validate.require(failed)


def test_int8_gate_fails_on_low_agreement_or_an_accuracy_drop():
    labels = np.array([True] * 500 + [False] * 500)
    fp32 = np.where(labels, 0.9, 0.1)
    good = validate.int8_gate(labels, fp32, fp32 + 0.01, 0.5)
    assert all(c.passed for c in good)
    worse = fp32.copy()
    worse[:10] = 0.3  # ten positives flip: 1% disagreement, 1 point less accuracy
    bad = validate.int8_gate(labels, fp32, worse, 0.5)
    assert [c.passed for c in bad] == [False, False]


def test_a_failed_gate_writes_nothing(tiny_run, tiny_archive, tmp_path, monkeypatch):
    monkeypatch.setattr(validate, "KERAS_TOLERANCE", -1.0)
    out = tmp_path / "models"
    options = ExportOptions(validation_reviews=12, limit_per_label=6, mobile=False)
    with pytest.raises(validate.ValidationError, match="fp32 vs Keras"):
        export_release(tiny_run, out, tiny_archive, options)
    assert not out.exists()


@pytest.mark.imdb
@pytest.mark.slow
def test_release_export_of_a_real_model_writes_self_describing_files(
    small_real_run, imdb_archive, tmp_path
):
    out = tmp_path / "models"
    options = ExportOptions(version="0.0.test", validation_reviews=1000, limit_per_label=500)
    figures = export_release(small_real_run.out_dir, out, imdb_archive, options)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            CARD_FILE,
            FIGURES_FILE,
            "lstm-sentiment-fp32.onnx",
            "lstm-sentiment-int8.onnx",
            "lstm-sentiment-fp32.ort",
            "lstm-sentiment-int8.ort",
            "lstm-sentiment-text-fp32.onnx",
            "lstm-sentiment-text-int8.onnx",
        ]
    )
    assert all(check["passed"] for check in figures["checks"])
    assert figures["test_subset"] is True and figures["test_reviews"] == 1000
    assert (out / CARD_FILE).read_text() == render_card(
        json.loads((out / FIGURES_FILE).read_text())
    )
    for variant in ("fp32", "int8"):
        model = SentimentModel.load(out / f"lstm-sentiment-{variant}.onnx")
        meta = model.metadata
        assert meta["variant"] == variant and meta["model_version"] == "0.0.test"
        assert model.contract == small_real_run.contract
        assert meta["evaluation"]["this_model"]["accuracy"] == figures[variant]["accuracy"]
        assert meta["training_config"]["max_length"] == 200
        assert meta["io"]["input"]["name"] == INPUT
        ort_model = SentimentModel.load(out / f"lstm-sentiment-{variant}.ort")
        np.testing.assert_allclose(ort_model.score(TEXTS), model.score(TEXTS), atol=1e-6)
    assert figures["sizes"]["int8"] < figures["sizes"]["fp32"] / 2
    for variant in ("text-fp32", "text-int8"):
        raw = SentimentModel.load(out / f"lstm-sentiment-{variant}.onnx")
        assert raw.takes_text and raw.metadata["variant"] == variant
        token = SentimentModel.load(out / f"lstm-sentiment-{variant[5:]}.onnx")
        ids, _ = token.contract.encode_batch(TEXTS)
        got = raw.session.run(["positive_probability"], {"review": np.array(TEXTS, dtype=object)})[
            0
        ]
        np.testing.assert_allclose(got, token.score_ids(ids), atol=1e-6)


def test_a_model_near_chance_is_refused_unless_allowed(
    tiny_run, tiny_archive, tmp_path, monkeypatch
):
    monkeypatch.setattr(validate, "MIN_ACCURACY", 1.01)  # the tiny model counts as weak
    options = ExportOptions(validation_reviews=12, limit_per_label=6, mobile=False)
    with pytest.raises(validate.ValidationError, match="fp32 test accuracy"):
        export_release(tiny_run, tmp_path / "refused", tiny_archive, options)
    assert not (tmp_path / "refused").exists()
    options = ExportOptions(validation_reviews=12, limit_per_label=6, mobile=False, allow_weak=True)
    figures = export_release(tiny_run, tmp_path / "allowed", tiny_archive, options)
    (check,) = [c for c in figures["checks"] if c["name"] == "fp32 test accuracy"]
    assert check["passed"] and "waived" in check["limit"]


def test_the_default_version_names_the_run_not_a_release(tmp_path):
    from lstm_sentiment import runtime
    from lstm_sentiment.export.cli import default_version

    assert default_version(tmp_path / "my run_2") == f"{runtime.__version__}+my.run.2"
    assert default_version(tmp_path / "release") != "1.0.0"


def test_gate_values_in_the_card_keep_their_digits():
    figures = json.loads((MODELS_DIR / FIGURES_FILE).read_text())
    figures["checks"] = [
        {
            "name": "int8 label agreement with fp32",
            "value": 0.99982,
            "limit": ">= 0.995",
            "passed": True,
        }
    ]
    assert "| int8 label agreement with fp32 | 0.99982 |" in render_card(figures)


def test_the_benchmark_refuses_a_missing_run_or_dataset_in_one_line(tmp_path):
    import subprocess
    import sys

    def benchmark(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "benchmarks.speed", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    no_run = benchmark(str(tmp_path / "missing"))
    assert no_run.returncode == 1 and "Traceback" not in no_run.stderr
    assert no_run.stderr.startswith("error:") and "not a trained model folder" in no_run.stderr
    assert "model.keras is missing" in no_run.stderr
    run = tmp_path / "run"
    run.mkdir()
    from lstm_sentiment.runtime.contract import TextContract
    from lstm_sentiment.train.config import TrainConfig

    (run / "model.keras").write_bytes(b"")  # never read: the dataset is missing first
    TrainConfig().save(run / "config.json")
    TextContract.from_texts(["a good film", "a bad film"], 10, 20, "last", 1).save(
        run / "contract.json"
    )
    no_data = benchmark(str(run), "--data", str(tmp_path / "no-archive.tar.gz"))
    assert no_data.returncode == 1 and "Traceback" not in no_data.stderr
    assert no_data.stderr.startswith("error:") and "no-archive" in no_data.stderr


def test_the_benchmarks_lstm_cost_counts_both_directions():
    from benchmarks.speed import lstm_flops_per_token
    from lstm_sentiment.train.config import TrainConfig

    # 2 x (4 gates x units x (inputs + units)) per layer and direction.
    assert lstm_flops_per_token(TrainConfig()) == 8 * 64 * (64 + 64) + 8 * 32 * (64 + 32)
    both_ways = TrainConfig(bidirectional=True, lstm1_units=32)
    assert lstm_flops_per_token(both_ways) == 2 * 8 * 32 * (64 + 32) + 8 * 32 * (64 + 32)


def test_the_benchmark_only_times_models_exported_from_its_run(tmp_path):
    from benchmarks.speed import exported_from

    shipped = SentimentModel.load("fp32").contract
    assert exported_from(MODELS_DIR, shipped) is None
    other = TextContract.from_texts(["a good film", "a bad film"], 10, 20, "last", 1)
    assert "not exported from this run" in exported_from(MODELS_DIR, other)
    assert "lacks lstm-sentiment-fp32.onnx" in exported_from(tmp_path, shipped)


def test_the_fitted_temperature_undoes_a_known_miscalibration():
    from lstm_sentiment.export.calibrate import calibration, fit_temperature, rescaled

    rng = np.random.default_rng(1)
    true_logits = rng.normal(0, 3, 50_000)
    labels = rng.uniform(0, 1, true_logits.shape) < 1 / (1 + np.exp(-true_logits))
    soft = 1 / (1 + np.exp(-true_logits * 0.5))  # underconfident, as distilled students are
    assert fit_temperature(labels, soft) == pytest.approx(0.5, rel=0.05)
    fitted = calibration(labels, soft)
    assert fitted.after["ece"] < fitted.before["ece"] / 3
    assert fitted.after["log_loss"] < fitted.before["log_loss"]
    assert np.array_equal(rescaled(soft, fitted.temperature) >= 0.5, soft >= 0.5)
    with pytest.raises(ValueError, match="both labels"):
        fit_temperature(np.ones(10, dtype=bool), soft[:10])


def test_the_export_puts_the_validation_temperature_into_every_file(
    tiny_run, tiny_archive, tmp_path
):
    from lstm_sentiment.export.calibrate import rescaled

    options = ExportOptions(validation_reviews=12, limit_per_label=6, mobile=False, allow_weak=True)
    figures = export_release(tiny_run, tmp_path / "models", tiny_archive, options)
    calibrated = figures["calibration"]
    temperature = calibrated["temperature"]
    assert calibrated["fitted_on"] == "validation reviews" and calibrated["reviews"] > 0
    assert temperature != 1.0  # a tiny model is far from calibrated
    expected = rescaled(keras_scores(tiny_run, TEXTS), temperature)
    for variant in ("fp32", "text-fp32"):
        model = SentimentModel.load(tmp_path / "models" / f"lstm-sentiment-{variant}.onnx")
        assert model.metadata["calibration"]["temperature"] == temperature
        if model.takes_text:
            got = model.session.run(None, {"review": np.array(TEXTS, dtype=object)})[0]
        else:
            got = model.score_encoded([model.contract.encode(t) for t in TEXTS])
        np.testing.assert_allclose(got, expected, atol=1e-5)
    assert "temperature" in (tmp_path / "models" / CARD_FILE).read_text()
    assert {"ece", "brier"} <= set(figures["fp32"])
    uncalibrated = ExportOptions(validation_reviews=12, limit_per_label=6, mobile=False,
                                 allow_weak=True, calibrate=False)  # fmt: skip
    plain = export_release(tiny_run, tmp_path / "plain", tiny_archive, uncalibrated)
    assert plain["calibration"] is None
    assert plain["fp32"]["confusion"] == figures["fp32"]["confusion"]  # labels unchanged
