"""The README and docs/ as a reader uses them: every Python and JavaScript snippet runs as it
is pasted, every relative link resolves, and every option of the scorer is documented."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.main import get_command

from lstm_sentiment.runtime.cli import app
from lstm_sentiment.runtime.model import MODELS_DIR
from tests.conftest import npm_install

REPO = Path(__file__).resolve().parents[1]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def snippets(language: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        blocks = re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
        found += [(f"{page.name}-{i}", code) for i, code in enumerate(blocks)]
    return found


PYTHON = snippets("python")
JAVASCRIPT = snippets("js")


def test_the_pages_have_python_and_javascript_snippets():
    assert len(PYTHON) >= 4 and JAVASCRIPT


def test_the_readme_is_short():
    assert len((REPO / "README.md").read_text(encoding="utf-8").splitlines()) <= 200


@pytest.mark.parametrize("code", [c for _, c in PYTHON], ids=[n for n, _ in PYTHON])
def test_a_python_snippet_runs_verbatim_from_the_repository_root(code, tmp_path):
    # The repository's root as a reader sees it, without letting the snippet write into it.
    for name in ("samples", "runtime"):
        os.symlink(REPO / name, tmp_path / name)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runtime", "samples"]  # wrote nothing


@pytest.fixture(scope="module")
def node_folder(tmp_path_factory) -> Path:
    """A folder as the embedding page describes it: onnxruntime-node at the sample's pinned
    version, and a copy of the raw-text int8 model."""
    folder = tmp_path_factory.mktemp("node-snippets")
    shutil.copy(REPO / "samples" / "embed-node" / "package.json", folder / "package.json")
    npm_install(folder)
    shutil.copy(MODELS_DIR / "lstm-sentiment-text-int8.onnx", folder)
    return folder


@pytest.mark.parametrize("code", [c for _, c in JAVASCRIPT], ids=[n for n, _ in JAVASCRIPT])
def test_a_javascript_snippet_runs_verbatim_under_node(code, node_folder):
    (node_folder / "score.mjs").write_text(code, encoding="utf-8")
    result = subprocess.run(
        ["node", "score.mjs"], cwd=node_folder, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip(), "the snippet printed nothing"


LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_every_relative_link_resolves(page):
    text = page.read_text(encoding="utf-8")
    broken = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        missing_anchor = anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved)
        if not resolved.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.name}: links that do not resolve: {broken}"


def _anchors(page: Path) -> set[str]:
    """GitHub's anchors for a page's headings."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("command", ["batch", "score", "compare"])
def test_every_scorer_option_is_in_the_reference(command):
    reference = (REPO / "docs" / "scorer.md").read_text(encoding="utf-8")
    section = reference.split(f"## `scorer {command}`", 1)[1].split("\n## ", 1)[0]
    group = get_command(app)
    options = [
        name
        for param in group.commands[command].params  # type: ignore[attr-defined]
        for name in param.opts
        if name.startswith("--") and name != "--help"
    ]
    missing = [name for name in options if f"`{name}`" not in section]
    assert not missing, f"docs/scorer.md does not document {missing} of scorer {command}"
