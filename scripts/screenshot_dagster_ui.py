#!/usr/bin/env python3
"""Screenshot the Dagster UI's asset graph into docs/images/dagster-asset-graph.png.

Starts `strata ui` on a throwaway data home with a few days of landing data, drives Debian's headless Chromium
through Playwright, and always stops the UI and removes the data home again.

    .venv/bin/python scripts/screenshot_dagster_ui.py [--port PORT] [--output PATH]

Needs the dev extra (`pip install -e '.[dev]'`, for playwright) and /usr/bin/chromium (scripts/install_chromium.sh).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from headless_chromium import (
    PlaywrightTimeout,
    ScreenshotError,
    check_prerequisites,
    photograph,
    run_screenshot,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO / "docs" / "images" / "dagster-asset-graph.png"
# Quieter still for a live web app: no QUIC, component updates or sync traffic.
UI_CHROMIUM_ARGS = ("--disable-quic", "--disable-component-update", "--disable-sync")
SERVER_TIMEOUT_S = 120
# Never picked by free_port: 3000 is `strata ui`'s default, and both are where developers run their own UIs.
RESERVED_PORTS = {3000, 3111}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help="port for the Dagster UI (default: a free one)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="PNG to write")
    return parser.parse_args()


def free_port() -> int:
    # The OS hands out an unused port; a fixed one could collide with a UI a developer already runs.
    while True:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in RESERVED_PORTS:
            return port


def ensure_port_free(port: int) -> None:
    # Another server on the port would answer our polls, and we would photograph the wrong UI.
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            raise ScreenshotError(f"port {port} is in use: pass a free one with --port") from None


def strata_executable() -> str:
    # Prefer the strata of the interpreter running us: that venv is the one with playwright installed.
    beside = Path(sys.executable).with_name("strata")
    found = str(beside) if beside.exists() else shutil.which("strata")
    if not found:
        raise ScreenshotError("the `strata` command is missing: run `pip install -e '.[dev]'` in the venv")
    return found


def generate_landing(strata: str, home: Path) -> None:
    # A few small batches are enough: the graph needs landing data to exist, not a build.
    command = [strata, "generate", "--start", "2024-01-01", "--days", "3", "--orders-per-day", "100", "--no-progress"]
    result = subprocess.run(command, cwd=home, env=strata_env(home), capture_output=True, text=True)
    if result.returncode != 0:
        raise ScreenshotError(f"`strata generate` failed:\n{result.stderr.strip()}")


def strata_env(home: Path) -> dict[str, str]:
    return {**os.environ, "STRATA_HOME": str(home)}


def start_ui(strata: str, home: Path, port: int, log: Path) -> subprocess.Popen:
    # A session of its own makes the UI the leader of a process group, so the webserver, daemon and code
    # servers that `dagster dev` spawns can all be stopped together.
    with log.open("wb") as out:
        return subprocess.Popen(
            [strata, "ui", "--port", str(port)],
            cwd=home,
            env=strata_env(home),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=restore_sigint,
        )


def restore_sigint() -> None:
    # `dagster dev` maps SIGTERM onto its SIGINT handler, and a shell that runs us in the background hands
    # SIGINT down ignored: the UI would then ignore every polite stop.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_ui(process: subprocess.Popen) -> None:
    # SIGINT is the Ctrl-C that `dagster dev` is made to shut down on; SIGKILL is only for a group that hangs.
    for sig, grace_s in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        if wait_for_group_exit(process, grace_s):
            return
    print(f"warning: processes of UI group {process.pid} survived SIGKILL", file=sys.stderr)


def wait_for_group_exit(process: subprocess.Popen, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # Reap the leader: as a zombie it would keep the group looking alive.
        process.poll()
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def wait_for_server(base_url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ScreenshotError(f"`strata ui` exited with code {process.returncode} before answering")
        try:
            with urllib.request.urlopen(f"{base_url}/server_info", timeout=5):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(1)
    raise ScreenshotError(f"the Dagster UI did not answer at {base_url}/server_info within {timeout_s:.0f} s")


def wait_for_groups(base_url: str, timeout_s: float) -> list[str]:
    # The webserver can answer before the code location has loaded; the asset groups tell that it has.
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        groups = asset_groups(base_url)
        if groups:
            return groups
        time.sleep(1)
    raise ScreenshotError("the Dagster UI shows no asset groups: did orchestration/definitions.py fail to load?")


def asset_groups(base_url: str) -> list[str]:
    query = json.dumps({"query": "{ assetNodes { groupName } }"}).encode()
    request = urllib.request.Request(f"{base_url}/graphql", data=query, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            nodes = json.load(response).get("data", {}).get("assetNodes") or []
    except (urllib.error.URLError, OSError, ValueError):
        return []
    return sorted({node["groupName"] for node in nodes if node.get("groupName")})


def capture(base_url: str, groups: list[str], output: Path) -> None:
    photograph(output, lambda page: show_asset_graph(page, base_url, groups), UI_CHROMIUM_ARGS)


def show_asset_graph(page, base_url: str, groups: list[str]) -> None:
    page.goto(f"{base_url}/asset-groups")
    for group in groups:
        page.get_by_text(group, exact=True).first.wait_for()
    dismiss_community_modal(page)
    hide_side_panels(page)
    fit_graph(page)
    wait_for_statuses(page)
    check_graph(page, groups)
    # Park the pointer on the page title so no node is drawn hovered.
    page.get_by_text("Global asset lineage").hover()


def dismiss_community_modal(page) -> None:
    # Dagster asks each new instance once, a moment after the first page load; a fresh data home is a new one.
    skip = page.get_by_role("button", name="Skip")
    try:
        skip.wait_for(timeout=15_000)
    except PlaywrightTimeout:  # an instance that was asked before shows none
        return
    skip.click()
    skip.wait_for(state="detached")
    print("dismissed the 'Join the Dagster community' modal")


def hide_side_panels(page) -> None:
    # The app navigation and the asset sidebar take a third of the width away from the graph.
    page.get_by_text("Hide navigation").click()
    page.locator("button:has([aria-label='panel_show_right'])").click()


def fit_graph(page) -> None:
    # The graph is fitted to the canvas only when its layout changes, not when the sidebar goes away;
    # expanding and collapsing all groups refits the collapsed layer groups to the full width.
    for item in ("Expand all groups", "Collapse all groups"):
        # The toolbar overlays the canvas's top; its bottom-left corner is empty in both layouts, so the click
        # opens the canvas's own menu rather than a node's.
        viewport = page.locator("[data-svg-viewport]")
        height = viewport.bounding_box()["height"]
        viewport.click(button="right", position={"x": 20, "y": height - 20})
        page.get_by_role("menuitem", name=item).click()
        page.wait_for_timeout(1_000)


def wait_for_statuses(page) -> None:
    # Group nodes say "fetching statuses" until their asset counts arrive; those counts belong in the picture.
    page.wait_for_timeout(1_500)
    page.get_by_text("fetching statuses").first.wait_for(state="detached")


def check_graph(page, groups: list[str]) -> None:
    if page.get_by_text("Join the Dagster community").is_visible():
        raise ScreenshotError("the 'Join the Dagster community' modal is still open")
    hidden = [group for group in groups if not page.get_by_text(group, exact=True).first.is_visible()]
    if hidden:
        raise ScreenshotError(f"the asset graph does not show the groups {', '.join(hidden)}")


def print_log_tail(log: Path, lines: int = 30) -> None:
    if log.exists():
        tail = log.read_text(errors="replace").splitlines()[-lines:]
        print(f"--- last lines of the UI log ({log.name}) ---", *tail, sep="\n", file=sys.stderr)


def run(port: int, output: Path) -> None:
    check_prerequisites()
    ensure_port_free(port)
    strata = strata_executable()
    home = Path(tempfile.mkdtemp(prefix="strata-screenshot-"))
    log = home / "ui.log"
    process = None
    try:
        generate_landing(strata, home)
        process = start_ui(strata, home, port, log)
        base_url = f"http://127.0.0.1:{port}"
        print(f"waiting for the Dagster UI at {base_url} ...")
        wait_for_server(base_url, process, SERVER_TIMEOUT_S)
        groups = wait_for_groups(base_url, SERVER_TIMEOUT_S)
        print(f"asset groups: {', '.join(groups)}; taking the screenshot ...")
        capture(base_url, groups, output)
    except ScreenshotError:
        print_log_tail(log)
        raise
    finally:
        if process is not None:
            stop_ui(process)
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    args = parse_args()
    return run_screenshot(lambda: run(args.port or free_port(), args.output), args.output)


if __name__ == "__main__":
    sys.exit(main())
