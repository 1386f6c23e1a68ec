"""The runtime's side of models: untrusted files refused before a session exists, execution
providers chosen without silent fallback, and the info/compare commands."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper
from typer.testing import CliRunner

from lstm_sentiment.runtime import model as model_module
from lstm_sentiment.runtime.cli import app
from lstm_sentiment.runtime.model import MODELS_DIR, ModelError, SentimentModel
from lstm_sentiment.runtime.providers import (
    CPU,
    CUDA,
    TENSORRT,
    ProviderError,
    check_started,
    select_providers,
)
from lstm_sentiment.runtime.readers import has_words
from lstm_sentiment.runtime.signature import VARIANTS

runner = CliRunner()
FP32 = MODELS_DIR / VARIANTS["fp32"].file


@pytest.fixture(scope="module")
def shipped() -> onnx.ModelProto:
    return onnx.load(FP32)


def save(model: onnx.ModelProto, path, **kwargs):
    onnx.save(model, path, **kwargs)
    return path


def refused(path, match: str):
    with pytest.raises(ModelError, match=match):
        SentimentModel.load(path)
    result = runner.invoke(app, ["info", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output


# -- untrusted model files ---------------------------------------------------------------------


def test_a_file_that_is_not_onnx_is_refused(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"this is plainly not a protobuf model at all" * 3)
    refused(path, "not a readable ONNX model|not an ONNX model")


def test_a_truncated_model_is_refused(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(FP32.read_bytes()[: FP32.stat().st_size // 2])
    refused(path, "truncated|not a readable")


def test_an_empty_or_tiny_file_is_refused(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"")
    refused(path, "not an ONNX model")


def test_external_data_outside_the_model_folder_is_refused(tmp_path, shipped):
    folder = tmp_path / "models"
    folder.mkdir()
    model = onnx.ModelProto()
    model.CopyFrom(shipped)
    big = max(model.graph.initializer, key=lambda t: len(t.raw_data))
    big.data_location = TensorProto.EXTERNAL
    big.ClearField("raw_data")
    entry = big.external_data.add()
    entry.key, entry.value = "location", "../../etc/passwd"
    refused(save(model, folder / "m.onnx"), "outside the model's folder")
    entry.value = "/etc/passwd"
    refused(save(model, folder / "m.onnx"), "outside the model's folder")


def test_external_data_inside_the_model_folder_is_allowed(tmp_path, shipped):
    path = tmp_path / "m.onnx"
    model = onnx.ModelProto()
    model.CopyFrom(shipped)  # saving as external data rewrites the proto in place
    onnx.save(model, path, save_as_external_data=True, location="weights.bin", size_threshold=1024)
    loaded = SentimentModel.load(path)
    np.testing.assert_allclose(
        loaded.score(["a great film"]),
        SentimentModel.load("fp32").score(["a great film"]),
        atol=1e-6,
    )


def test_a_foreign_operator_domain_is_refused(tmp_path, shipped):
    model = onnx.ModelProto()
    model.CopyFrom(shipped)
    model.graph.node[0].domain = "com.example.evil"
    model.opset_import.add(domain="com.example.evil", version=1)
    refused(save(model, tmp_path / "m.onnx"), "com.example.evil")


def test_inputs_or_outputs_that_do_not_match_the_contract_are_refused(tmp_path, shipped):
    model = onnx.ModelProto()
    model.CopyFrom(shipped)
    model.graph.input[0].type.tensor_type.elem_type = TensorProto.INT64
    refused(save(model, tmp_path / "a.onnx"), "token_ids")
    model.CopyFrom(shipped)
    model.graph.output[0].name = "logits"
    refused(save(model, tmp_path / "b.onnx"), "positive_probability")


def test_a_model_without_our_contract_is_refused(tmp_path):
    graph = helper.make_graph(
        [helper.make_node("Cast", ["token_ids"], ["positive_probability"], to=TensorProto.FLOAT)],
        "g",
        [helper.make_tensor_value_info("token_ids", TensorProto.INT32, ["b", "t"])],
        [helper.make_tensor_value_info("positive_probability", TensorProto.FLOAT, ["b", "t"])],
    )
    path = save(helper.make_model(graph), tmp_path / "m.onnx")
    refused(path, "rank 1|no lstm-sentiment text contract")


def test_a_tampered_contract_in_the_metadata_is_refused(tmp_path, shipped):
    model = onnx.ModelProto()
    model.CopyFrom(shipped)
    for prop in model.metadata_props:
        if prop.key == "lstm_sentiment.contract":
            data = json.loads(prop.value)
            data["vocabulary"][5] = data["vocabulary"][4]
            prop.value = json.dumps(data)
    refused(save(model, tmp_path / "m.onnx"), "appears twice")


def with_metadata(shipped: onnx.ModelProto, **values) -> onnx.ModelProto:
    model = onnx.ModelProto()
    model.CopyFrom(shipped)
    for prop in model.metadata_props:
        name = prop.key.removeprefix("lstm_sentiment.")
        if name in values:
            prop.value = json.dumps(values[name])
    return model


@pytest.mark.parametrize(
    ("labels", "threshold"),
    [(["same", "same"], 0.5), (["only one"], 0.5), (["bad", ""], 0.5), ([0, 1], 0.5),
     (["bad", "good"], 1.5), (["bad", "good"], "half"), (["bad", "good"], True)],
)  # fmt: skip
def test_tampered_labels_or_threshold_in_the_metadata_are_refused(
    tmp_path, shipped, labels, threshold
):
    model = with_metadata(shipped, labels=labels, threshold=threshold)
    refused(save(model, tmp_path / "m.onnx"), "labels|threshold")


def test_a_missing_model_path_is_a_clear_error():
    with pytest.raises(ModelError, match="no model file"):
        SentimentModel.load("/no/such/model.onnx")


def test_checks_happen_before_any_session_is_created(tmp_path, monkeypatch):
    created = []
    monkeypatch.setattr(model_module.ort, "InferenceSession", lambda *a, **k: created.append(a))
    path = tmp_path / "m.onnx"
    path.write_bytes(b"\x08\x07" * 50)
    with pytest.raises(ModelError):
        SentimentModel.load(path)
    assert created == []


# -- execution providers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "available", "expected"),
    [
        ("auto", [CPU], [CPU]),
        ("auto", [TENSORRT, CUDA, CPU], [CUDA, CPU]),
        ("cpu", [CUDA, CPU], [CPU]),
        ("cuda", [CUDA, CPU], [CUDA, CPU]),
        ("tensorrt", [TENSORRT, CUDA, CPU], [TENSORRT, CUDA, CPU]),
    ],
)
def test_provider_selection(requested, available, expected):
    assert select_providers(requested, available) == expected


@pytest.mark.parametrize("requested", ["cuda", "tensorrt"])
def test_an_explicit_gpu_provider_that_is_missing_is_an_error_not_a_fallback(requested):
    with pytest.raises(ProviderError, match="offers only CPUExecutionProvider"):
        select_providers(requested, [CPU])


def test_an_unknown_provider_is_an_error():
    with pytest.raises(ProviderError, match="unknown provider"):
        select_providers("tpu", [CPU])


def test_a_gpu_provider_that_silently_failed_to_start_is_caught():
    with pytest.raises(ProviderError, match="could not start"):
        check_started("cuda", [CUDA, CPU], [CPU])
    assert check_started("auto", [CUDA, CPU], [CPU]) == "cpu"  # auto may fall back, and says so
    assert check_started("cuda", [CUDA, CPU], [CUDA, CPU]) == "cuda"


def test_the_cli_refuses_cuda_on_a_cpu_only_onnxruntime(tmp_path, monkeypatch):
    monkeypatch.setattr(model_module.ort, "get_available_providers", lambda: [CPU])
    source = tmp_path / "in.csv"
    source.write_text("review\ngreat\n")
    result = runner.invoke(
        app, ["batch", str(source), "--provider", "cuda", "-o", str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2 and "onnxruntime-gpu" in result.output
    assert not (tmp_path / "o.csv").exists()


def test_auto_uses_cuda_when_offered_and_reports_it(monkeypatch):
    seen = {}

    class FakeSession:
        def __init__(self, path, options, providers):
            seen["providers"] = providers

        def get_providers(self):
            return seen["providers"]

        def get_modelmeta(self):
            class Meta:
                custom_metadata_map = {
                    k: v for k, v in ((p.key, p.value) for p in onnx.load(FP32).metadata_props)
                }

            return Meta()

    monkeypatch.setattr(model_module.ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(model_module.ort, "InferenceSession", FakeSession)
    monkeypatch.setattr(model_module, "_check_placement", lambda *a: "")
    loaded = SentimentModel.load("fp32", "auto")
    assert seen["providers"] == [CUDA, CPU] and loaded.provider == "cuda"


# -- node placement: never a silent CPU run ------------------------------------------------


def test_placement_lists_every_node_of_a_real_profile_with_its_provider():
    from lstm_sentiment.runtime.placement import placement

    feed = {"token_ids": np.array([[1, 5, 6]], dtype=np.int32)}
    nodes = placement(MODELS_DIR / VARIANTS["int8"].file, [CPU], feed)
    ops = {n.op for n in nodes}
    assert "DynamicQuantizeLSTM" in ops and len(nodes) > 10
    assert {n.provider for n in nodes} == {CPU}
    assert len({n.node for n in nodes}) == len(nodes) and not any(
        n.node.endswith("_kernel_time") for n in nodes
    )


def test_nodes_on_the_cpu_are_refused_for_an_explicit_gpu_provider_and_noted_otherwise():
    from lstm_sentiment.runtime.placement import Placed, PlacementError, check

    nodes = [Placed("lstm", "DynamicQuantizeLSTM", CPU), Placed("shape", "Shape", CPU),
             Placed("mm", "MatMul", CUDA), Placed("lstm2", "DynamicQuantizeLSTM", CPU)]  # fmt: skip
    for requested in ("cuda", "tensorrt"):
        with pytest.raises(PlacementError) as refused:
            check(requested, nodes, allow_cpu_nodes=False)
        message = str(refused.value)
        assert "3 of 4 nodes would run on the CPU: DynamicQuantizeLSTM x2, Shape" in message
        assert "lstm, shape, lstm2" in message and "--provider cpu" in message
    assert check("cuda", nodes, allow_cpu_nodes=True).startswith("3 of 4 nodes ran on the CPU")
    assert check("auto", nodes, allow_cpu_nodes=False).startswith("3 of 4 nodes ran")
    assert check("cuda", [Placed("mm", "MatMul", CUDA)], allow_cpu_nodes=False) == ""


def test_the_cli_measures_placement_on_a_gpu_provider_and_refuses_cpu_nodes(tmp_path, monkeypatch):
    # onnxruntime offers CUDA and says it started it, but (with no GPU here) every node runs
    # on the CPU: what a model with no CUDA kernels for its nodes would do on a real GPU.
    monkeypatch.setattr(model_module.ort, "get_available_providers", lambda: [CUDA, CPU])
    monkeypatch.setattr(model_module, "check_started", lambda *a: "cuda")
    source = tmp_path / "in.csv"
    source.write_text("review\ngreat\n")
    out = tmp_path / "o.csv"
    args = ["batch", str(source), "--provider", "cuda", "-m", "int8", "-o", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and not out.exists()
    assert "nodes would run on the CPU" in result.output and "DynamicQuantizeLSTM" in result.output
    assert len(result.output.strip().splitlines()) == 1
    result = runner.invoke(app, [*args, "--allow-cpu-nodes"])
    assert result.exit_code == 0, result.output
    assert "nodes ran on the CPU" in result.output and out.exists()


# -- info and compare ------------------------------------------------------------------------


def test_info_prints_what_the_model_says_about_itself():
    result = runner.invoke(app, ["info", "int8", "--json"])
    assert result.exit_code == 0, result.output
    details = json.loads(result.output)
    assert details["variant"] == "int8" and details["vocab_size"] == 20_000
    assert details["max_length"] == 500 and details["threshold"] == 0.5
    assert details["quantization"]["weight_type"] == "QInt8"
    assert details["inputs"][0]["name"] == "token_ids"
    assert 0.8 < details["evaluation"]["accuracy"] < 1
    text = runner.invoke(app, ["info"]).output
    assert "contract_version" in text and "evaluation" in text


def test_compare_prints_a_table_json_and_a_plot(tmp_path):
    labelled = tmp_path / "l.csv"
    labelled.write_text(
        "review,label\ngreat film,positive\nawful film,negative\nloved it,1\nboring,0\n"
        "wonderful,pos\ndull,neg\n,pos\n"
    )
    result = runner.invoke(app, ["compare", str(labelled), "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 0, result.output
    assert "fp32" in result.output and "int8" in result.output
    assert "1 record skipped" in result.output
    assert (tmp_path / "p.png").stat().st_size > 1000
    report = json.loads(runner.invoke(app, ["compare", str(labelled), "--json"]).output)
    assert report["reviews"] == 6 and report["skipped"] == 1
    first, second = report["models"]
    assert first["accuracy"] == 1.0 and 0.99 <= second["agreement_with_first"] <= 1
    assert second["max_abs_dp"] < 0.2 and second["bytes"] < first["bytes"]


def test_compare_refuses_labels_it_cannot_read(tmp_path):
    labelled = tmp_path / "l.csv"
    labelled.write_text("review,label\ngreat film,maybe\n")
    result = runner.invoke(app, ["compare", str(labelled)])
    assert result.exit_code == 2 and "line 2" in result.output and "'maybe'" in result.output


def test_compare_reads_labels_by_the_models_own_names(tmp_path, shipped):
    renamed = save(with_metadata(shipped, labels=["bad", "good"]), tmp_path / "renamed.onnx")
    labelled = tmp_path / "l.csv"
    labelled.write_text(
        "review,verdict\nA wonderful and moving film.,Good\nDull and too long.,bad\nLoved it.,1\n"
    )
    result = runner.invoke(
        app, ["compare", str(labelled), "-m", str(renamed), "-m", str(renamed),
              "--label-column", "verdict", "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["reviews"] == 3
    result = runner.invoke(app, ["compare", str(labelled), "-m", str(renamed), "-m", "fp32",
                                 "--label-column", "verdict"])  # fmt: skip
    assert result.exit_code == 2 and "name their labels differently" in result.output
    labelled.write_text("review,verdict\nA wonderful film.,positive\nDull.,meh\n")
    result = runner.invoke(app, ["compare", str(labelled), "-m", str(renamed), "-m", str(renamed),
                                 "--label-column", "verdict"])  # fmt: skip
    assert result.exit_code == 2 and "'meh' is neither 'good' nor 'bad'" in result.output


# -- a light runtime -------------------------------------------------------------------------------


def test_the_cli_in_a_subprocess_never_imports_tensorflow(tmp_path):
    source = tmp_path / "in.csv"
    source.write_text("review\ngreat film\n")
    code = (
        "import sys\n"
        "from lstm_sentiment.runtime.cli import main\n"
        f"sys.argv = ['scorer', 'batch', {str(source)!r}, '-o', {str(tmp_path / 'o.csv')!r}]\n"
        "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('tensorflow', 'keras', 'tf2onnx', 'onnx'))\n"
        "print(code, heavy)\n"
    )
    assert run_python(code) == "0 []"


def run_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_help_imports_neither_numpy_nor_onnxruntime():
    code = (
        "import sys\nfrom typer.testing import CliRunner\n"
        "from lstm_sentiment.runtime.cli import app\n"
        "r = CliRunner().invoke(app, ['batch', '--help'])\n"
        "print(r.exit_code, sorted(m for m in ('numpy', 'onnxruntime') if m in sys.modules))\n"
    )
    assert run_python(code) == "0 []"


def test_python_dash_m_runs_the_scorer():
    out = subprocess.run(
        [sys.executable, "-m", "lstm_sentiment.runtime", "--version"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stdout.startswith("lstm-sentiment ")


def test_default_parallelism_is_one_thread_per_batch_on_cpu_and_one_stream_on_gpu(monkeypatch):
    from lstm_sentiment.runtime import batch

    monkeypatch.setattr(model_module.ort, "get_available_providers", lambda: [CPU])
    monkeypatch.setattr(batch.os, "cpu_count", lambda: 16)
    assert batch.parallelism("auto", None, None) == (1, batch.MAX_DEFAULT_WORKERS)
    assert batch.parallelism("cpu", 3, 2) == (3, 2)
    monkeypatch.setattr(model_module.ort, "get_available_providers", lambda: [CUDA, CPU])
    assert batch.parallelism("auto", None, None) == (None, 1)
    assert batch.parallelism("cpu", None, None) == (1, batch.MAX_DEFAULT_WORKERS)


# -- one rule for reviews without a word the model reads ---------------------------------------

NO_WORDS = ["", "!!!", "映画 😀", "   "]


@pytest.mark.parametrize("variant", ["fp32", "int8", "text-fp32", "text-int8"])
def test_a_review_without_words_has_no_score_in_the_python_api(variant):
    model = SentimentModel.load(variant, "cpu")
    scores = model.score(["a great film", *NO_WORDS, "a dull film"])
    assert np.isnan(scores[1:-1]).all() and not np.isnan(scores[[0, -1]]).any()
    assert not any(has_words(len(model.contract.encode(t))) for t in NO_WORDS)


def test_a_single_string_gives_one_score_and_non_strings_a_type_error():
    model = SentimentModel.load("fp32", "cpu")
    one = model.score("Great film")
    assert isinstance(one, float) and one == pytest.approx(float(model.score(["Great film"])[0]))
    with pytest.raises(TypeError, match="review 1 is NoneType"):
        model.score(["fine", None])
    with pytest.raises(TypeError, match="review 0 is int"):
        model.score([3])


def test_compare_skips_exactly_the_records_batch_makes_error_records(tmp_path):
    labelled = tmp_path / "l.csv"
    labelled.write_text(
        "review,label\ngreat film,1\n!!!,0\n,1\nawful film,0\n映画,1\nfine,1\n", encoding="utf-8"
    )
    batch = runner.invoke(app, ["batch", str(labelled), "-o", str(tmp_path / "o.csv")])
    errors = sum(1 for line in (tmp_path / "o.csv").read_text().splitlines()[1:] if line[-1] != ",")
    assert batch.exit_code == 3 and errors == 3
    report = json.loads(runner.invoke(app, ["compare", str(labelled), "--json"]).output)
    assert report["skipped"] == errors and report["reviews"] == 3


def test_compare_plot_without_matplotlib_fails_before_scoring(tmp_path, monkeypatch):
    import builtins

    from lstm_sentiment.runtime import compare

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    scored = []
    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    monkeypatch.setattr(compare, "compare_models", lambda *a, **k: scored.append(1))
    labelled = tmp_path / "l.csv"
    labelled.write_text("review,label\ngreat film,1\n")
    result = runner.invoke(app, ["compare", str(labelled), "--plot", str(tmp_path / "p.png")])
    assert result.exit_code == 2 and "pip install" in result.output and not scored


@pytest.mark.parametrize(("variant", "opset"), [("fp32", 17), ("text-fp32", 20), ("text-int8", 20)])
def test_info_reads_the_opset_from_the_file_itself(variant, opset):
    details = json.loads(runner.invoke(app, ["info", variant, "--json"]).output)
    assert details["opset"] == opset


def test_info_json_carries_everything_the_model_says_about_itself():
    details = json.loads(runner.invoke(app, ["info", "text-int8", "--json"]).output)
    meta = details["metadata"]
    for key in ("training", "training_config", "exporter", "io", "evaluation", "quantization"):
        assert key in meta, key
    assert len(meta["contract"]["vocabulary"]) == details["vocab_size"] - 3
    assert meta["io"]["input"]["name"] == "review"


def test_every_shipped_variant_is_named_in_help_and_in_the_missing_model_message():
    flat = " ".join(runner.invoke(app, ["batch", "--help"]).output.replace("│", " ").split())
    with pytest.raises(ModelError) as error:
        SentimentModel.load("text-int9")
    for name in VARIANTS:
        assert name in flat and name in str(error.value)


@pytest.mark.parametrize("workers", [1, 2])
def test_batches_are_length_sorted_and_run_longest_first(workers):
    # Each batch holds reviews of like length (little padding); the longest run first so
    # that the workers end a window on short batches rather than one waiting on the other.
    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 500, size=1000).tolist()
    seen: list[list[int]] = []
    model_module._in_sorted_batches(lengths, 64, workers, lambda rows: seen.append(list(rows)))
    assert sorted(i for rows in seen for i in rows) == list(range(1000))  # each row once
    spans = [(min(lengths[i] for i in rows), max(lengths[i] for i in rows)) for rows in seen]
    spans.sort(key=lambda span: -span[1])
    assert all(a[0] >= b[1] for a, b in zip(spans, spans[1:], strict=False))  # no overlap
    if workers == 1:  # a pool's order depends on its threads; one worker's does not
        longest = [max(lengths[i] for i in rows) for rows in seen]
        assert longest == sorted(longest, reverse=True)
        # the same batches as in ascending order (so the same scores): the remainder holds
        # the longest reviews
        assert len(seen[0]) == 1000 % 64
