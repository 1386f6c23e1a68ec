"""The browser page (samples/web) in a real headless Chromium: it scores like the Python
runtime, its batch table and CSV download match ``scorer batch``, it reads a review from the
URL, and it never reaches past localhost or logs a console error.

Needs Debian's ``chromium`` (the README's test command installs it) and Python Playwright
(the dev extra), driving that browser: Playwright's own browser download is never used.
"""

from __future__ import annotations

import contextlib
import csv
import functools
import io
import shutil
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstm_sentiment.runtime.cli import app as scorer
from lstm_sentiment.runtime.model import MODELS_DIR, SentimentModel
from lstm_sentiment.runtime.signature import VARIANTS
from tests.conftest import npm_install, required

PAGE = Path(__file__).resolve().parents[1] / "samples" / "web"
PAGE_FILES = ("index.html", "app.js", "metadata.js", "package.json")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # the suite may run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # no calls home from a closed network
    "--disable-component-update",
    "--disable-sync",
]
REVIEWS = [
    "A wonderful, moving film; I'd watch it again.",
    "Dull<br /><br />and far TOO long.",
    "It's not bad... it's TERRIBLE!",
    "Didn\u2019t expect much, but the cast won me over.",
    "Café 😀 映画 ok",
]


def _page_folder(root: Path, models: bool = True) -> Path:
    for name in PAGE_FILES:
        shutil.copy(PAGE / name, root / name)
    (root / "models").mkdir()
    for variant in ("text-fp32", "text-int8") if models else ():
        shutil.copy(MODELS_DIR / VARIANTS[variant].file, root / "models")
    return root


@contextlib.contextmanager
def _served(root: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def site_root(tmp_path_factory) -> Path:
    """The page, onnxruntime-web as its package.json pins it, and the shipped raw-text
    models."""
    root = _page_folder(tmp_path_factory.mktemp("web"))
    npm_install(root)
    return root


@pytest.fixture(scope="module")
def site(site_root) -> Iterator[str]:
    """The page served on 127.0.0.1."""
    with _served(site_root) as url:
        yield url


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript"}

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        pass


@pytest.fixture(scope="module")
def browser():
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        required("Debian's chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs the dev extra")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, site):
    """A fresh page that refuses every request past the test's server and records console
    errors; the test fails if either happened."""
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    outside: list[str] = []
    errors: list[str] = []

    def guard(route) -> None:
        url = route.request.url
        if url.startswith(site) or url.startswith(("blob:", "data:")):
            route.continue_()
        else:
            outside.append(url)
            route.abort()

    page.route("**/*", guard)
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.site = site
    yield page
    context.close()
    assert not outside, f"requests left localhost: {outside}"
    assert not errors, f"console errors: {errors}"


def wait_ready(page) -> None:
    page.wait_for_function(
        "document.getElementById('status').dataset.state !== 'loading'", timeout=60_000
    )
    state = page.get_attribute("#status", "data-state")
    assert state == "ready", page.inner_text("#status")


def shown_probability(page, previous: str | None = None) -> float:
    page.wait_for_function(
        "([previous]) => { const p = document.getElementById('probability').dataset"
        ".probability; return p !== undefined && p !== '' && p !== previous; }",
        arg=[previous],
        timeout=30_000,
    )
    return float(page.get_attribute("#probability", "data-probability"))


def test_typed_reviews_get_the_python_runtimes_fp32_probability(page):
    model = SentimentModel.load("text-fp32")
    page.goto(page.site + "?model=fp32")
    wait_ready(page)
    assert "fp32" in page.inner_text("#model-info")
    previous = None
    for review in REVIEWS:
        page.fill("#review", review)
        page.click("#score")
        shown = shown_probability(page, previous)
        previous = page.get_attribute("#probability", "data-probability")
        expected = float(model.score(review))
        assert abs(shown - expected) <= 1e-6, (review, shown, expected)
        label = model.labels[int(expected >= model.threshold)]
        assert page.inner_text("#label") == label
        assert "ms" in page.inner_text("#latency")


def test_a_review_in_the_url_is_scored_on_load_with_the_int8_model(page):
    review = "Not bad at all. I expected a disaster and got a pretty entertaining evening."
    page.goto(page.site + "?text=" + urllib.parse.quote(review))
    wait_ready(page)
    assert page.input_value("#review") == review
    assert "int8" in page.inner_text("#model-info")
    shown = shown_probability(page)
    expected = float(SentimentModel.load("text-int8").score(review))
    # int8 kernels differ between onnxruntime's CPU and wasm builds; the label must not.
    assert abs(shown - expected) < 0.02
    assert (shown >= 0.5) == (expected >= 0.5)


def test_batch_table_and_download_match_scorer_batch(page, tmp_path):
    lines = [*REVIEWS, "", "!!! ???", 'A "quoted", comma, review']
    page.goto(page.site + "?model=fp32")
    wait_ready(page)
    page.fill("#batch-input", "\n".join(lines))
    page.click("#batch-score")
    page.wait_for_selector("#download:not([hidden])", timeout=30_000)
    assert page.locator("#batch-table tbody tr").count() == len(lines)
    with page.expect_download() as info:
        page.click("#download")
    downloaded = Path(info.value.path()).read_text(encoding="utf-8")

    source = tmp_path / "reviews.csv"
    with source.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["review"])
        writer.writerows([line] for line in lines)
    expected_path = tmp_path / "scored.csv"
    model = MODELS_DIR / VARIANTS["text-fp32"].file
    result = CliRunner().invoke(scorer, ["batch", str(source), "-o", str(expected_path),
                                         "-m", str(model)])  # fmt: skip
    assert result.exit_code in (0, 3), result.output  # 3: some records are error records
    got = list(csv.DictReader(io.StringIO(downloaded)))
    want = list(csv.DictReader(expected_path.open(encoding="utf-8")))
    assert [list(row) for row in got[:1]] == [list(row) for row in want[:1]]  # same columns
    assert [r["id"] for r in got] == [r["id"] for r in want]
    assert [r["label"] for r in got] == [r["label"] for r in want]
    assert [r["error"] for r in got] == [r["error"] for r in want]
    pairs = [(g["score"], w["score"]) for g, w in zip(got, want, strict=True) if w["score"]]
    assert len(pairs) == len(lines) - 2
    shown, expected = np.array(pairs, dtype=np.float64).T
    assert np.max(np.abs(shown - expected)) <= 1e-6


def test_a_dropped_csv_file_is_scored_by_its_review_column(page, tmp_path):
    upload = tmp_path / "mine.csv"
    upload.write_text('id,review\n7,"Loved it,\nevery minute."\n8,Dull.\n', encoding="utf-8")
    page.goto(page.site + "?model=fp32")
    wait_ready(page)
    page.set_input_files("#batch-file", str(upload))
    page.wait_for_selector("#download:not([hidden])", timeout=30_000)
    rows = page.locator("#batch-table tbody tr")
    assert rows.count() == 2
    assert "Loved it," in rows.nth(0).inner_text()


def _status_when_settled(browser, url: str) -> tuple[str, str]:
    """The page's status state and text once it stops loading (console errors allowed: the
    browser logs the failed request itself)."""
    context = browser.new_context()
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
               else route.abort())  # fmt: skip
    try:
        page.goto(url)
        wait = "document.getElementById('status').dataset.state !== 'loading'"
        page.wait_for_function(wait, timeout=90_000)
        return page.get_attribute("#status", "data-state"), page.inner_text("#status")
    finally:
        context.close()


def test_without_npm_install_the_page_says_how_to_install_onnxruntime_web(browser, tmp_path):
    with _served(_page_folder(tmp_path)) as url:
        state, text = _status_when_settled(browser, url)
    assert state == "error"
    assert "npm install --prefix samples/web --ignore-scripts" in text


def test_a_missing_model_file_is_an_error_on_the_page_naming_it(browser, site_root, tmp_path):
    root = _page_folder(tmp_path, models=False)
    (root / "node_modules").symlink_to(site_root / "node_modules")
    with _served(root) as url:
        state, text = _status_when_settled(browser, url)
    assert state == "error"
    assert "models/lstm-sentiment-text-int8.onnx" in text and "404" in text


WHY_REVIEW = "It\u2019s not bad... it's TERRIBLE!<br />Dull &amp; far too long."


def shown_words(page, method: str) -> list[tuple[str, int, float]]:
    page.wait_for_function(
        "([method]) => document.getElementById('why').dataset.method === method "
        "&& document.querySelectorAll('#why mark').length > 0",
        arg=[method],
        timeout=30_000,
    )
    return page.eval_on_selector_all(
        "#why mark",
        "marks => marks.map(m => [m.textContent, Number(m.dataset.start), "
        "Number(m.dataset.effect)])",
    )


def test_the_review_is_shown_with_each_word_coloured_by_its_effect(page):
    model = SentimentModel.load("text-fp32")
    page.goto(page.site + "?model=fp32&text=" + urllib.parse.quote(WHY_REVIEW))
    wait_ready(page)
    shown_probability(page)
    for method in ("pass", "occlusion"):
        if method == "occlusion":
            page.check("#exact")
        marks = shown_words(page, method)
        (record,) = model.explain([WHY_REVIEW], top=None, method=method)
        expected = sorted((w["start"], w["word"], w["effect"]) for w in record["explanation"])
        assert [(start, word) for word, start, _ in marks] == [(s, w) for s, w, _ in expected]
        for (_, _, shown), (_, _, want) in zip(marks, expected, strict=True):
            assert abs(shown - want) <= 2e-3, (method, shown, want)
        # The page shows the review itself, every character in place.
        assert page.inner_text("#why").replace("\n", " ") == WHY_REVIEW.replace("\n", " ")
    assert "toward positive" in page.inner_text("#legend")
    assert "toward negative" in page.inner_text("#legend")
    colours = page.eval_on_selector_all("#why mark", "ms => ms.map(m => m.style.backgroundColor)")
    assert any("43, 122, 11" in c for c in colours) or any("164, 22, 26" in c for c in colours)
