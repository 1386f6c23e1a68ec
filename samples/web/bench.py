"""Does onnxruntime-web's wasm threading help the page? Both measured in one run.

    npm install --prefix samples/web --ignore-scripts
    .venv/bin/python samples/web/bench.py [--repeats 3] [--copies 40]

Serves this folder on 127.0.0.1 with the COOP/COEP headers that make a page cross-origin
isolated (the only way a browser allows wasm threads), opens it in Debian's chromium with
``?threads=1`` and ``?threads=2`` for each model, scores the sample reviews ``--copies``
times over in batch mode and prints the median seconds of ``--repeats`` runs and the ratio.
"""

from __future__ import annotations

import argparse
import csv
import functools
import re
import shutil
import statistics
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from lstm_sentiment.export.machine import machine

HERE = Path(__file__).resolve().parent
SAMPLES = HERE.parent / "reviews.csv"


class _Isolated(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, ".mjs": "text/javascript"}

    def end_headers(self) -> None:
        self.send_header("Cross-Origin-Opener-Policy", "same-origin")
        self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
        super().end_headers()

    def log_message(self, *args: object) -> None:
        pass


def batch_seconds(page: Page, url: str, reviews: str) -> float:
    page.goto(url)
    page.wait_for_function("document.getElementById('status').dataset.state === 'ready'")
    page.fill("#batch-input", reviews)
    page.click("#batch-score")
    page.wait_for_selector("#download:not([hidden])")
    shown = page.inner_text("#batch-status")
    return float(re.search(r"([0-9.]+) s$", shown)[1])  # type: ignore[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--copies", type=int, default=40)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("error: Debian's chromium is needed: apt-get install chromium")
    with SAMPLES.open(encoding="utf-8") as stream:
        texts = [row["review"].replace("\n", " ") for row in csv.DictReader(stream)]
    reviews = "\n".join(texts * args.copies)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Isolated, directory=HERE))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"machine: {machine()}")
    print(f"{len(texts) * args.copies} reviews a batch, median of {args.repeats} runs")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page()
        for model in ("int8", "fp32"):
            seconds = {}
            for threads in (1, 2):
                url = f"{base}?model={model}&threads={threads}"
                runs = [batch_seconds(page, url, reviews) for _ in range(args.repeats)]
                seconds[threads] = statistics.median(runs)
                shown = page.inner_text("#model-info")
                print(f"{model}, threads={threads}: {seconds[threads]:.3f} s ({shown})")
            print(f"{model}: 2 threads / 1 thread speed = {seconds[1] / seconds[2]:.2f}")
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
