"""From a trained model folder to the release files: fp32 and int8 ONNX (plus their ``.ort``
forms for onnxruntime's mobile builds), the raw-text twins, a model card and its figures.

    lstm-sentiment export runs/textbook --out runtime/models

Nothing is written unless every gate in ``export/validate.py`` passes; files appear in the
output folder only complete. The figures come from scoring the full test split with the
Keras model and both ONNX files in this run. ``export_release`` reads as the list of steps.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from lstm_sentiment.export.calibrate import Calibration, calibration
from lstm_sentiment.export.card import CARD_FILE, FIGURES_FILE, render_card
from lstm_sentiment.export.convert import OPSET, convert
from lstm_sentiment.export.machine import machine
from lstm_sentiment.export.metadata import exporter_versions, set_metadata
from lstm_sentiment.export.mobile import mobile_checks
from lstm_sentiment.export.quantize import QuantOptions, quantize
from lstm_sentiment.export.text_graph import raw_text_model
from lstm_sentiment.export.validate import (
    Check,
    above_chance,
    against_keras,
    batch_invariance,
    int8_gate,
    padding_invariance,
    raw_text_agreement,
    require,
)
from lstm_sentiment.runtime.atomic import atomic_output
from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.runtime.metrics import accuracy, agreement, binary_metrics
from lstm_sentiment.runtime.model import SentimentModel
from lstm_sentiment.runtime.signature import (
    DEFAULT_THRESHOLD,
    EFFECTS,
    VARIANTS,
    Kind,
    io_description,
)
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.datasets import Dataset, ImdbData
from lstm_sentiment.train.samplers import subset
from lstm_sentiment.train.short_texts import short_reviews

# Texts the raw-text gate always includes: what real reviews rarely contain.
EDGE_TEXTS = [
    "",
    "   ",
    "!!! ???",
    "Café ÉTÉ naïve 映画 😀 \u212a \u0130",
    "one<br />two<BR/>three<Br  >four<br",
    "tab\tnew\nline\r\nnul\x00end",
    "don't 'quoted' rock'n'roll a''b",
    "Didn\u2019t DIDN\u2018T it\u02bcs rock\u2019n'roll \u2019quoted\u2019 a\u2019\u2019b",
    "great " * 800 + "but the ending",
]


@dataclass
class ExportOptions:
    version: str = "1.0.0"
    validation_reviews: int = 1000  # real test reviews for the Keras and padding checks
    limit_per_label: int | None = None  # evaluate on a test subset (tests only; not a release)
    quantization: QuantOptions = QuantOptions()
    mobile: bool = True  # run onnxruntime's mobile checks and write .ort files
    allow_weak: bool = False  # export even a model near chance (below MIN_ACCURACY)
    calibrate: bool = True  # fit a temperature on the run's validation reviews
    seed: int = 0


@dataclass
class _Run:
    folder: Path
    contract: TextContract
    config: TrainConfig
    training: dict[str, Any]


@dataclass
class _TestSet:
    texts: list[str]
    labels: np.ndarray
    check_texts: list[str]  # the subset for the Keras, padding and raw-text checks
    short_texts: list[str]  # the short-review set cut from the test split (short_texts.py)
    short_labels: np.ndarray


def export_release(
    run_dir: str | Path, out_dir: str | Path, data: Dataset | str | Path, options: ExportOptions
) -> dict[str, Any]:
    """Convert, validate, quantize, gate, describe; returns the figures of the card.

    ``data`` is what the run trained on (``datasets.for_run``), or the IMDb archive's path."""
    run = _load_run(Path(run_dir))
    if isinstance(data, str | Path):
        data = ImdbData(Path(data), check_counts=options.limit_per_label is None)
    test = _load_test_set(data, options)
    calibrated, calibration_checks = _calibrate(run, data) if options.calibrate else (None, [])
    temperature = calibrated.temperature if calibrated else 1.0
    keras_scores, keras_check_scores, keras_seconds = _score_with_keras(run, test, temperature)
    base_meta = {
        "labels": list(data.labels),
        "calibration": calibrated.as_dict() if calibrated else None,
        "training_config": run.config.to_dict(),
        "training": run.training,
        "exporter": {**exporter_versions(), "opset": OPSET},
    }
    threshold = DEFAULT_THRESHOLD  # what set_metadata writes into every file
    with tempfile.TemporaryDirectory(prefix="lstm-sentiment-export-") as work_dir:
        work = Path(work_dir)
        fp32_path, int8_path = work / VARIANTS["fp32"].file, work / VARIANTS["int8"].file
        fp32_scores, checks = _export_fp32(
            run, test, keras_check_scores, fp32_path, options, base_meta, temperature
        )
        int8_scores, gate = _export_int8(fp32_path, int8_path, test, fp32_scores, options)
        figures = {
            "model_version": options.version,
            "test_reviews": len(test.texts),
            "test_subset": options.limit_per_label is not None,
            "keras": binary_metrics(test.labels, keras_scores, threshold),
            "fp32": binary_metrics(test.labels, fp32_scores, threshold),
            "int8": binary_metrics(test.labels, int8_scores, threshold),
            "fp32_vs_keras": agreement(fp32_scores, keras_scores, threshold),
            "int8_vs_fp32": agreement(int8_scores, fp32_scores, threshold),
            "checks": [c.as_dict() for c in [*calibration_checks, *checks, *gate]],
            "keras_seconds": round(keras_seconds, 1),
            "training_config": run.config.to_dict(),
            "training": run.training,
            "calibration": base_meta["calibration"],
            "quantization": options.quantization.as_dict(),
            "exporter": base_meta["exporter"],
            "machine": machine(),
            "labels": list(data.labels),
            "short_reviews": _short_review_figures(test, fp32_path, int8_path, threshold),
        }
        text_checks = _describe_and_add_text_models(run, test, work, figures, options, base_meta)
        figures["checks"] += [c.as_dict() for c in text_checks]
        figures["sizes"] = {
            "keras": (run.folder / "model.keras").stat().st_size,
            **{v.name: (work / v.file).stat().st_size for v in VARIANTS.values()},
        }
        figures["mobile"] = mobile_checks(work, [fp32_path, int8_path]) if options.mobile else {}
        _publish(work, Path(out_dir))
    _write_card(Path(out_dir), figures)
    return figures


def _load_run(folder: Path) -> _Run:
    training = json.loads((folder / "training.json").read_text(encoding="utf-8"))
    contract = TextContract.load(folder / "contract.json")
    return _Run(folder, contract, TrainConfig.load(folder / "config.json"), training)


def _load_test_set(data: Dataset, options: ExportOptions) -> _TestSet:
    reviews = data.test()
    if options.limit_per_label is not None:
        reviews = subset(reviews, options.limit_per_label, options.seed)
    per_label = max(1, options.validation_reviews // 2)
    check_texts = [r.text for r in subset(reviews, per_label, options.seed)]
    labels = np.array([r.label for r in reviews], dtype=bool)
    short = short_reviews(reviews)
    short_labels = np.array([label for _, label in short], dtype=bool)
    return _TestSet(
        [r.text for r in reviews], labels, check_texts, [t for t, _ in short], short_labels
    )


def _calibrate(run: _Run, data: Dataset) -> tuple[Calibration, list[Check]]:
    """The temperature fitted on the run's own validation reviews (``export/calibrate.py``),
    with a check that the scaled network labels every one of them as before."""
    from lstm_sentiment.train.distill import split_validation
    from lstm_sentiment.train.evaluate import predict
    from lstm_sentiment.train.fit import labelled_reviews
    from lstm_sentiment.train.model import load_model, scale_logits

    validation, _ = split_validation(
        run.config, labelled_reviews(data, run.config), data.validation()
    )
    texts = [r.text for r in validation]
    labels = np.array([r.label for r in validation], dtype=bool)
    keras_model = load_model(run.folder / "model.keras")
    before = predict(keras_model, run.contract, texts)
    fitted = calibration(labels, before)
    scale_logits(keras_model, fitted.temperature)
    after = predict(keras_model, run.contract, texts)
    changed = int(np.sum((after >= DEFAULT_THRESHOLD) != (before >= DEFAULT_THRESHOLD)))
    checks = [Check("calibration: validation labels changed", changed, "== 0", changed == 0)]
    require(checks)
    return fitted, checks


def _score_with_keras(
    run: _Run, test: _TestSet, temperature: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """The trained model's scores (logit divided by ``temperature``) on the test split
    (timed) and on the check subset; both padded to max length, as in training."""
    from lstm_sentiment.train.evaluate import predict
    from lstm_sentiment.train.model import load_model, scale_logits

    keras_model = load_model(run.folder / "model.keras")
    if temperature != 1.0:
        scale_logits(keras_model, temperature)
    started = time.perf_counter()
    scores = predict(keras_model, run.contract, test.texts)
    seconds = time.perf_counter() - started
    return scores, predict(keras_model, run.contract, test.check_texts), seconds


def _export_fp32(
    run: _Run,
    test: _TestSet,
    keras_check_scores: np.ndarray,
    path: Path,
    options: ExportOptions,
    base_meta: dict[str, Any],
    temperature: float,
) -> tuple[np.ndarray, list[Check]]:
    """Convert, save with provisional metadata, and gate against Keras, padding and batch
    size; returns the test scores and the checks."""
    fp32 = convert(run.folder, temperature=temperature)
    set_metadata(fp32, run.contract, version=options.version, variant="fp32", extra=base_meta)
    onnx.save(fp32, path)
    model = SentimentModel.load(path)
    scores = _raw_scores(model, test.texts)
    check_scores = _raw_scores(model, test.check_texts)
    checks = against_keras(check_scores, keras_check_scores, model.threshold)
    checks += padding_invariance(model, test.check_texts)
    checks += batch_invariance(model, test.check_texts)
    checks += above_chance(binary_metrics(test.labels, scores)["accuracy"], options.allow_weak)
    require(checks)
    return scores, checks


def _export_int8(
    fp32_path: Path,
    int8_path: Path,
    test: _TestSet,
    fp32_scores: np.ndarray,
    options: ExportOptions,
) -> tuple[np.ndarray, list[Check]]:
    quantize(fp32_path, int8_path, options.quantization)
    model = SentimentModel.load(int8_path)
    scores = _raw_scores(model, test.texts)
    gate = int8_gate(test.labels, fp32_scores, scores, model.threshold)
    require(gate)
    return scores, gate


def _describe_and_add_text_models(
    run: _Run,
    test: _TestSet,
    work: Path,
    figures: dict[str, Any],
    options: ExportOptions,
    base_meta: dict[str, Any],
) -> list[Check]:
    """Write the final metadata into both token models, build their raw-text twins and gate
    them against the token models."""
    checks: list[Check] = []
    for variant in ("fp32", "int8"):
        path = work / VARIANTS[variant].file
        model = onnx.load(path)
        quant = None if variant == "fp32" else options.quantization.as_dict()
        extra = {**base_meta, "quantization": quant, "evaluation": _evaluation(figures, variant)}
        set_metadata(model, run.contract, version=options.version, variant=variant, extra=extra)
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, path)
        # The raw-text twin: the same file with the text contract as a graph in front.
        raw = raw_text_model(model, run.contract)
        explains = EFFECTS in {o.name for o in raw.graph.output}
        extra = {**extra, "io": io_description(Kind.TEXT, explains)}
        text_variant = f"text-{variant}"
        set_metadata(raw, run.contract, version=options.version, variant=text_variant, extra=extra)
        onnx.checker.check_model(raw, full_check=True)
        raw_path = work / VARIANTS[text_variant].file
        onnx.save(raw, raw_path)
        checks += raw_text_agreement(
            SentimentModel.load(raw_path),
            SentimentModel.load(path),
            [*test.check_texts, *EDGE_TEXTS],
            variant,
        )
    require(checks)
    return checks


def _raw_scores(model: SentimentModel, texts: list[str]) -> np.ndarray:
    """What the graph computes for every text, a review with no word included (the API
    gives such a review no score; the gates compare numbers with Keras, which scores it)."""
    return model.score_encoded(model.contract.encode_many(texts))


def _short_review_figures(
    test: _TestSet, fp32_path: Path, int8_path: Path, threshold: float
) -> dict[str, Any] | None:
    """Accuracy on the short-review set (endings of clearly rated test reviews); None for
    data without star ratings."""
    if not test.short_texts:
        return None
    figures: dict[str, Any] = {"reviews": len(test.short_texts)}
    for variant, path in (("fp32", fp32_path), ("int8", int8_path)):
        scores = _raw_scores(SentimentModel.load(path), test.short_texts)
        figures[variant] = accuracy(test.short_labels, scores, threshold)
    return figures


def _evaluation(figures: dict[str, Any], variant: str) -> dict[str, Any]:
    """What a model file says about itself: its own test figures and the Keras original's."""
    return {
        "split": "test",
        "reviews": figures["test_reviews"],
        "subset": figures["test_subset"],
        "this_model": figures[variant],
        "keras": figures["keras"],
    }


def _publish(work: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(work.glob("*.onnx")) + sorted(work.glob("*.ort")):
        with path.open("rb") as src, atomic_output(out / path.name) as dst:
            shutil.copyfileobj(src, dst)


def _write_card(out: Path, figures: dict[str, Any]) -> None:
    text = json.dumps(figures, indent=2) + "\n"
    _write_text(out / FIGURES_FILE, text)
    # Rendered from the JSON as written, exactly as 'lstm-sentiment card' renders it later.
    _write_text(out / CARD_FILE, render_card(json.loads(text)))


def _write_text(path: Path, text: str) -> None:
    with atomic_output(path, text=True) as out:
        out.write(text)
