"""From a trained model folder to the release files: fp32 and int8 ONNX (plus their ``.ort``
forms for onnxruntime's mobile builds), a model card and the figures behind it.

    lstm-sentiment export runs/textbook --out runtime/models

Nothing is written unless every gate in ``export/validate.py`` passes; files appear in the
output folder only complete. The figures come from scoring the full test split with the
Keras model and both ONNX files in this run.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from lstm_sentiment.export.card import CARD_FILE, FIGURES_FILE, render_card
from lstm_sentiment.export.convert import OPSET, convert
from lstm_sentiment.export.metadata import TEXT_IO, exporter_versions, set_metadata
from lstm_sentiment.export.quantize import QuantOptions, quantize
from lstm_sentiment.export.text_graph import raw_text_model
from lstm_sentiment.export.validate import (
    against_keras,
    batch_invariance,
    int8_gate,
    padding_invariance,
    raw_text_agreement,
    require,
)
from lstm_sentiment.runtime.atomic import atomic_output
from lstm_sentiment.runtime.contract import TextContract
from lstm_sentiment.runtime.metrics import binary_metrics
from lstm_sentiment.runtime.model import NAMED_MODELS, SentimentModel
from lstm_sentiment.train import imdb
from lstm_sentiment.train.config import TrainConfig
from lstm_sentiment.train.fit import subset

# Texts the raw-text gate always includes: what real reviews rarely contain.
EDGE_TEXTS = [
    "",
    "   ",
    "!!! ???",
    "Café ÉTÉ naïve 映画 😀 \u212a \u0130",
    "one<br />two<BR/>three<Br  >four<br",
    "tab\tnew\nline\r\nnul\x00end",
    "don't 'quoted' rock'n'roll a''b",
    "great " * 800 + "but the ending",
]


@dataclass
class ExportOptions:
    version: str = "1.0.0"
    validation_reviews: int = 1000  # real test reviews for the Keras and padding checks
    limit_per_label: int | None = None  # evaluate on a test subset (tests only; not a release)
    quantization: QuantOptions = QuantOptions()
    mobile: bool = True  # run onnxruntime's mobile checks and write .ort files
    seed: int = 0


def export_release(
    run_dir: str | Path, out_dir: str | Path, source: str | Path, options: ExportOptions
) -> dict[str, Any]:
    """Convert, validate, quantize, gate, describe; returns the figures of the card."""
    run, out = Path(run_dir), Path(out_dir)
    contract = TextContract.load(run / "contract.json")
    config = TrainConfig.load(run / "config.json")
    training = json.loads((run / "training.json").read_text(encoding="utf-8"))

    reviews = imdb.load_split(source, "test", check_counts=options.limit_per_label is None)
    if options.limit_per_label is not None:
        reviews = subset(reviews, options.limit_per_label, options.seed)
    labels = np.array([r.label for r in reviews], dtype=bool)
    texts = [r.text for r in reviews]
    per_label = max(1, options.validation_reviews // 2)
    check_texts = [r.text for r in subset(reviews, per_label, options.seed)]

    from lstm_sentiment.train.evaluate import predict
    from lstm_sentiment.train.model import load_model

    keras_model = load_model(run / "model.keras")
    started = time.perf_counter()
    keras_scores = predict(keras_model, contract, texts)
    keras_seconds = time.perf_counter() - started

    with tempfile.TemporaryDirectory(prefix="lstm-sentiment-export-") as work_dir:
        work = Path(work_dir)
        fp32_path, int8_path = work / NAMED_MODELS["fp32"], work / NAMED_MODELS["int8"]
        fp32 = convert(run)
        base_meta = {
            "training_config": config.to_dict(),
            "training": training,
            "exporter": {**exporter_versions(), "opset": OPSET},
        }
        set_metadata(fp32, contract, version=options.version, variant="fp32", extra=base_meta)
        onnx.save(fp32, fp32_path)
        fp32_model = SentimentModel.load(fp32_path)
        fp32_scores = fp32_model.score(texts)
        threshold = fp32_model.threshold

        # The check subset is scored by Keras padded to max length, as in training.
        subset_keras = predict(keras_model, contract, check_texts)
        checks = against_keras(fp32_model.score(check_texts), subset_keras, threshold)
        checks += padding_invariance(fp32_model, check_texts)
        checks += batch_invariance(fp32_model, check_texts)
        require(checks)

        quantize(fp32_path, int8_path, options.quantization)
        int8_model = SentimentModel.load(int8_path)
        int8_scores = int8_model.score(texts)
        gate = int8_gate(labels, fp32_scores, int8_scores, threshold)
        require(gate)

        figures = {
            "model_version": options.version,
            "test_reviews": len(texts),
            "test_subset": options.limit_per_label is not None,
            "keras": binary_metrics(labels, keras_scores, threshold),
            "fp32": binary_metrics(labels, fp32_scores, threshold),
            "int8": binary_metrics(labels, int8_scores, threshold),
            "fp32_vs_keras": _agreement(fp32_scores, keras_scores, threshold),
            "int8_vs_fp32": _agreement(int8_scores, fp32_scores, threshold),
            "checks": [c.as_dict() for c in [*checks, *gate]],
            "keras_seconds": round(keras_seconds, 1),
            "training_config": config.to_dict(),
            "training": training,
            "quantization": options.quantization.as_dict(),
            "exporter": base_meta["exporter"],
            "machine": machine(),
        }
        text_checks = []
        for variant, path in (("fp32", fp32_path), ("int8", int8_path)):
            model = onnx.load(path)
            quant = None if variant == "fp32" else options.quantization.as_dict()
            extra = {
                **base_meta,
                "quantization": quant,
                "evaluation": _evaluation(figures, variant),
            }
            set_metadata(model, contract, version=options.version, variant=variant, extra=extra)
            onnx.checker.check_model(model, full_check=True)
            onnx.save(model, path)
            # The raw-text twin: the same file with the text contract as a graph in front.
            raw = raw_text_model(model, contract)
            extra = {**extra, "io": TEXT_IO}
            set_metadata(
                raw, contract, version=options.version, variant=f"text-{variant}", extra=extra
            )
            onnx.checker.check_model(raw, full_check=True)
            onnx.save(raw, work / NAMED_MODELS[f"text-{variant}"])
            text_checks += raw_text_agreement(
                SentimentModel.load(work / NAMED_MODELS[f"text-{variant}"]),
                SentimentModel.load(path),
                [*check_texts, *EDGE_TEXTS],
                variant,
            )
        require(text_checks)
        figures["checks"] += [c.as_dict() for c in text_checks]
        figures["sizes"] = {
            "keras": (run / "model.keras").stat().st_size,
            **{name: (work / file).stat().st_size for name, file in NAMED_MODELS.items()},
        }
        figures["mobile"] = mobile_checks(work, [fp32_path, int8_path]) if options.mobile else {}
        out.mkdir(parents=True, exist_ok=True)
        for path in sorted(work.glob("*.onnx")) + sorted(work.glob("*.ort")):
            _move_into(path, out / path.name)
    text = json.dumps(figures, indent=2) + "\n"
    _write_text(out / FIGURES_FILE, text)
    # Rendered from the JSON as written, exactly as 'lstm-sentiment card' renders it later.
    _write_text(out / CARD_FILE, render_card(json.loads(text)))
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


def _agreement(scores: np.ndarray, reference: np.ndarray, threshold: float) -> dict[str, float]:
    delta = np.abs(scores.astype(np.float64) - reference.astype(np.float64))
    same = np.mean((scores >= threshold) == (reference >= threshold))
    return {
        "label_agreement": float(same),
        "max_abs_dp": float(delta.max()),
        "mean_abs_dp": float(delta.mean()),
        "p99_abs_dp": float(np.quantile(delta, 0.99)),
    }


def machine() -> dict[str, Any]:
    """The CPU the figures came from: its name and the SIMD flags that matter to int8."""
    name, flags = platform.processor() or platform.machine(), []
    try:
        info = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        for line in info.splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                name = value.strip()
            if key.strip() == "flags":
                wanted = (
                    "avx",
                    "avx2",
                    "fma",
                    "f16c",
                    "avx512f",
                    "avx512_vnni",
                    "avx_vnni",
                    "avx512_bf16",
                    "amx_int8",
                    "sse4_2",
                )
                flags = sorted(set(value.split()) & set(wanted))
                break
    except OSError:
        pass
    return {"cpu": name, "flags": flags, "cores": os.cpu_count(), "system": platform.system()}


_VERDICT = re.compile(
    r"Model should perform well with (.+?) (as is|if modified to have fixed input shapes): (\w+)"
)
_FINAL = re.compile(r"For optimal performance the model should be used with the \w+ EP")


def mobile_checks(work: Path, models: list[Path]) -> dict[str, Any]:
    """onnxruntime's own mobile tooling: the usability check and the ORT-format conversion."""
    verdicts: dict[str, Any] = {}
    for path in models:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "onnxruntime.tools.check_onnx_model_mobile_usability",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        printed = result.stdout + result.stderr
        verdicts[path.stem] = {
            "exit_code": result.returncode,
            "verdicts": [f"{ep} {when}: {answer}" for ep, when, answer in _VERDICT.findall(printed)]
            + _FINAL.findall(printed),
        }
    ort_dir = work / "ort"
    ort_dir.mkdir()
    for path in models:
        shutil.copy(path, ort_dir / path.name)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "onnxruntime.tools.convert_onnx_models_to_ort",
            str(ort_dir),
            "--output_dir",
            str(ort_dir / "out"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    converted = {}
    for path in models:
        ort_file = ort_dir / "out" / f"{path.stem}.ort"
        loads = False
        if result.returncode == 0 and ort_file.is_file():
            try:
                loaded = SentimentModel.load(ort_file)
                loads = bool(loaded.score(["a loadable model"]).size == 1)
            except Exception:  # any failure means: do not ship this .ort
                loads = False
        if loads:
            shutil.move(ort_file, work / ort_file.name)
        converted[path.stem] = {
            "converted": ort_file.is_file() or (work / ort_file.name).is_file(),
            "runtime_loads": loads,
        }
    verdicts["ort_format"] = converted
    return verdicts


def _move_into(source: Path, target: Path) -> None:
    with source.open("rb") as src, atomic_output(target) as dst:
        shutil.copyfileobj(src, dst)


def _write_text(path: Path, text: str) -> None:
    with atomic_output(path, text=True) as out:
        out.write(text)
