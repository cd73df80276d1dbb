"""What the screenshot scripts share: Debian's headless Chromium through Playwright, and how a
script reports its failures (one line, a non-zero exit, its temporary data home removed)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright
except ImportError:  # reported by check_prerequisites, with the command that fixes it
    PlaywrightError = PlaywrightTimeout = Exception
    sync_playwright = None

CHROMIUM = Path("/usr/bin/chromium")
# Offline Chromium: nothing but the page being photographed may be contacted.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
VIEWPORT = {"width": 1600, "height": 1000}


class ScreenshotError(Exception):
    """A failure with a message meant for the person running the script."""


def check_prerequisites() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        raise ScreenshotError(f"{CHROMIUM} is missing: run scripts/install_chromium.sh")
    if sync_playwright is None:
        raise ScreenshotError("playwright is missing: run `pip install -e '.[dev]'` in the venv")


def photograph(output: Path, show: Callable, extra_args: tuple[str, ...] = ()) -> None:
    """Open a page in headless Chromium, let `show(page)` bring it to the state wanted, save it."""
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args])
            try:
                page = browser.new_page(viewport=VIEWPORT)
                page.set_default_timeout(60_000)
                show(page)
                page.screenshot(path=str(output))
            finally:
                browser.close()
    except PlaywrightError as error:
        raise ScreenshotError(f"driving Chromium failed: {error}") from None


def run_screenshot(take: Callable[[], None], output: Path) -> int:
    """Run `take`, turning its failures into one line on stderr and an exit code."""
    # Turn a SIGTERM into SystemExit so the script's finally blocks still clean up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    try:
        take()
    except ScreenshotError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(f"wrote {output}")
    return 0
