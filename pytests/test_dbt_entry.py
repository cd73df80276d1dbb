"""strata-dbt keeps dbt's saved parse across windows, and that is safe only while parsing ignores the window.

Both halves are tested on the real project with real dbt parses: the manifest must not depend on
the window vars (else a kept parse would carry the last window's dates into the next run), and
strata-dbt must reuse the saved parse when only the window changed, and only then.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from orchestration.dbt_invoke import dbt_environment, dbt_executable
from orchestration.settings import PROJECT_DIR

WINDOW_A = {"window_start": "2024-06-29", "window_end": "2024-06-30"}
WINDOW_B = {"window_start": "2024-07-10", "window_end": "2024-07-12", "excluded_batches": ["events/2024-07-10"]}


def parse(home: Path, executable: str, dbt_vars: dict, *extra: str) -> list[dict]:
    """Run `parse` and return dbt's structured log events."""
    completed = subprocess.run(
        [executable, "parse", "--log-format", "json", "--log-level", "debug", "--vars", json.dumps(dbt_vars), *extra],
        cwd=PROJECT_DIR,
        env={**os.environ, **dbt_environment(home)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    return [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]


def kept_the_saved_parse(events: list[dict]) -> bool:
    names = {event["info"]["name"] for event in events}
    assert names & {"PartialParsingEnabled", "UnableToPartialParse", "PartialParsingNotEnabled"}, names
    return "PartialParsingEnabled" in names and "UnableToPartialParse" not in names


def manifest_without_timestamps(path: Path) -> dict:
    def strip(value):
        if isinstance(value, dict):
            return {key: strip(item) for key, item in value.items() if key != "created_at"}
        if isinstance(value, list):
            return [strip(item) for item in value]
        return value

    manifest = json.loads(path.read_text())
    manifest.pop("metadata")
    return strip(manifest)


def test_the_project_parses_to_the_same_manifest_under_any_window(tmp_path):
    # No vars too: a full build (the default window) shares the saved parse of windowed runs.
    manifests = []
    for name, window in (("a", WINDOW_A), ("b", WINDOW_B), ("none", {})):
        home = tmp_path / name
        parse(home, dbt_executable(), window, "--no-partial-parse")
        manifests.append(manifest_without_timestamps(home / "target" / "manifest.json"))
    first = manifests[0]
    for other in manifests[1:]:
        differing = sorted(
            f"{kind}/{key}"
            for kind in first
            if isinstance(first[kind], dict)
            for key in set(first[kind]) | set(other.get(kind, {}))
            if first[kind].get(key) != other[kind].get(key)
        )
        assert not differing, f"nodes rendering a window var at parse time (use a {{bound}} placeholder): {differing}"
        assert first == other


def test_strata_dbt_keeps_the_saved_parse_when_only_the_window_changes(tmp_path):
    home = tmp_path / "home"
    strata_dbt = dbt_executable()
    plain_dbt = str(Path(strata_dbt).with_name("dbt"))

    parse(home, strata_dbt, WINDOW_A)
    assert kept_the_saved_parse(parse(home, strata_dbt, WINDOW_B))

    # Any other var can change what parsing produces: dbt's rule applies.
    assert not kept_the_saved_parse(parse(home, strata_dbt, {**WINDOW_B, "lookback_days": 5}))

    # Plain dbt without vars has the fingerprint strata-dbt gives a window-only run: one saved parse.
    parse(home, strata_dbt, WINDOW_B)
    assert kept_the_saved_parse(parse(home, plain_dbt, {}))
    # Plain dbt fingerprints window vars, so it re-parses for them as dbt always does.
    assert not kept_the_saved_parse(parse(home, plain_dbt, WINDOW_A))
