"""onnxruntime's own mobile tooling on exported models: the usability check and the
conversion to the ORT format, whose results are shipped only when the runtime loads them.

    from lstm_sentiment.export.mobile import mobile_checks
    verdicts = mobile_checks(work_dir, [fp32_path, int8_path])   # writes work_dir/*.ort
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from lstm_sentiment.runtime.model import SentimentModel

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
