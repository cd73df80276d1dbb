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
VIEWPORT = {"width": 1600, "height": 1000}


class ScreenshotError(Exception):
    """A failure with a message meant for the person running the script."""


def check_prerequisites() -> None:
    if not os.access(CHROMIUM, os.X_OK):
        raise ScreenshotError(f"{CHROMIUM} is missing: run scripts/install_chromium.sh")
    if sync_playwright is None:
        raise ScreenshotError("playwright is missing: run `pip install -e '.[dev]'` in the venv")


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
