"""The package's shape: one import package, a runtime that never needs TensorFlow."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("tensorflow", "keras", "tf2onnx", "onnx", "matplotlib")


def test_runtime_modules_import_nothing_heavy():
    code = (
        "import sys, pkgutil, importlib, lstm_sentiment.runtime as r\n"
        "for m in pkgutil.walk_packages(r.__path__, 'lstm_sentiment.runtime.'):\n"
        "    if not m.name.endswith('__main__'): importlib.import_module(m.name)\n"
        f"print(sorted(n for n in sys.modules if n.split('.')[0] in {HEAVY!r}))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("path", sorted((REPO / "runtime").rglob("*.py")), ids=lambda p: p.name)
def test_runtime_source_never_names_a_heavy_package(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            # matplotlib is allowed lazily, for the optional --plot; the rest never.
            assert name.split(".")[0] not in HEAVY[:4], f"{path.name} imports {name}"


def test_the_wheel_installs_one_top_level_package(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(tmp_path), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("lstm_sentiment-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"lstm_sentiment"}
    for sub in ("runtime", "train", "export"):
        assert f"lstm_sentiment/{sub}/__init__.py" in names
    assert not any(n.startswith("lstm_sentiment/tests") for n in names)
    for shipped in ("lstm-sentiment-fp32.onnx", "lstm-sentiment-int8.onnx", "MODEL_CARD.md"):
        assert f"lstm_sentiment/runtime/models/{shipped}" in names
    metadata = next(n for n in names if n.endswith("METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    base = [
        re.split(r"[<>=!~;\[ ]", line.removeprefix("Requires-Dist:").strip())[0]
        for line in text.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert base and not set(base) & set(HEAVY), base
