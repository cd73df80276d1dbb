#!/usr/bin/env python3
"""Screenshot a model page of the docs site (`strata docs`) into docs/images/docs-site-fct-orders.png.

Generates a few small days on a throwaway data home, builds them with dbt, runs `strata docs`, opens the page
from disk in Debian's headless Chromium through Playwright, and always removes the data home again.

    .venv/bin/python scripts/screenshot_docs_site.py [--model fct_orders] [--output PATH]

Needs the dev extra (`pip install -e '.[dev]'`, for playwright) and /usr/bin/chromium (scripts/install_chromium.sh).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from headless_chromium import (
    VIEWPORT,
    ScreenshotError,
    check_prerequisites,
    photograph,
    run_screenshot,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "docs" / "images" / "docs-site-fct-orders.png"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="fct_orders", help="model whose page to photograph")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="PNG to write")
    return parser.parse_args()


def run_step(description: str, command: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(command, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise ScreenshotError(f"{description} failed:\n{tail}")
    return result.stdout


def build_site(home: Path) -> Path:
    sys.path.insert(0, str(REPO))
    from orchestration.dbt_invoke import dbt_environment

    # The interpreter running us is the venv's, with strata and dbt beside it.
    bin_dir = Path(sys.executable).parent
    strata_env = {"STRATA_HOME": str(home)}
    generate = ["generate", "--start", "2024-01-01", "--days", "3", "--orders-per-day", "200", "--no-progress"]
    run_step("`strata generate`", [str(bin_dir / "strata"), *generate], strata_env)
    # dbt directly: the picture needs built tables (types, row counts), not Dagster's run records.
    dbt_build = [str(bin_dir / "dbt"), "build", "--exclude-resource-type", "test", "unit_test"]
    run_step("`dbt build`", dbt_build, dbt_environment(home))
    return Path(run_step("`strata docs`", [str(bin_dir / "strata"), "docs"], strata_env).strip())


def capture(page_path: Path, model: str, output: Path) -> None:
    def show_model(page) -> None:
        page.goto(f"{page_path.as_uri()}#!/model/model.strata.{model}")
        page.locator("column-details td").first.wait_for()
        # Park the pointer off the sidebar so no entry is drawn hovered.
        page.mouse.move(VIEWPORT["width"] - 1, VIEWPORT["height"] - 1)

    photograph(output, show_model)


def run(model: str, output: Path) -> None:
    check_prerequisites()
    home = Path(tempfile.mkdtemp(prefix="strata-docs-screenshot-"))
    try:
        print("building a small warehouse and its docs site ...")
        page_path = build_site(home)
        print(f"photographing {model} in {page_path} ...")
        capture(page_path, model, output)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    args = parse_args()
    return run_screenshot(lambda: run(args.model, args.output), args.output)


if __name__ == "__main__":
    sys.exit(main())
