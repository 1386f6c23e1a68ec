"""Take the README's picture of the page: a real headless Chromium, real timings.

    npm install --prefix samples/web --ignore-scripts
    .venv/bin/python samples/web/screenshot.py            # writes samples/web/screenshot.png

Serves this folder on 127.0.0.1, opens the page with Debian's chromium through Playwright
(the dev extra), scores the prefilled review and a small batch, and saves the page.
"""

from __future__ import annotations

import functools
import shutil
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
BATCH = "A joy from start to finish.\nTwo hours I will never get back.\n!!!"


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("error: Debian's chromium is needed: apt-get install chromium")
    handler = functools.partial(_Quiet, directory=str(HERE))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 820, "height": 900})
        page.goto(url)
        page.wait_for_function("document.getElementById('status').dataset.state === 'ready'")
        page.wait_for_function("document.getElementById('probability').dataset.probability")
        page.fill("#batch-input", BATCH)
        page.click("#batch-score")
        page.wait_for_selector("#download:not([hidden])")
        page.screenshot(path=str(HERE / "screenshot.png"), full_page=True)
        browser.close()
    server.shutdown()
    print(f"wrote {HERE / 'screenshot.png'}")


if __name__ == "__main__":
    main()
