"""`strata ci --state DIR`: build only what a change touched (dbt's "slim CI").

dbt compares the project with the manifest in DIR (the base branch's, e.g. the `target/` of the
last production build) and builds `state:modified+`: changed models, seeds and tests and
everything downstream of them. `--defer` resolves every unselected parent to the relation named
in DIR's manifest, so the base build's tables must be in the warehouse of this data home.

The run writes its artifacts to `$STRATA_HOME/ci-target`, never into DIR: the state being
compared against must not be overwritten by the comparison.

The comparison runs with the vars the state was made with (its run_results.json records them):
a model whose config renders a var would otherwise compare as modified. Strata's own models no
longer do (their window bounds are placeholders, docs/layers.md), but a model added to the
project may.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from orchestration.dbt_invoke import dbt_environment, dbt_executable
from orchestration.settings import PROJECT_DIR
from orchestration.warehouse_lock import warehouse_lock


class SlimCiError(Exception):
    """Bad input: the state or project directory is not what the command needs."""


@dataclass(frozen=True)
class SlimCiResult:
    returncode: int
    target_dir: Path
    built: list[str]

    @property
    def success(self) -> bool:
        return self.returncode == 0


def check_state(state_dir: Path) -> Path:
    manifest = state_dir / "manifest.json"
    if not manifest.is_file():
        raise SlimCiError(
            f"--state {state_dir}: no manifest.json there (pass the target directory of a dbt build "
            "of the base branch, e.g. $STRATA_HOME/target)"
        )
    try:
        json.loads(manifest.read_text())
    except json.JSONDecodeError as error:
        raise SlimCiError(f"--state {state_dir}: manifest.json is not valid JSON ({error})") from None
    return state_dir.resolve()


def state_vars(state_dir: Path) -> dict:
    """The --vars of the dbt command that wrote the state (none for a parse-only state)."""
    try:
        args = json.loads((state_dir / "run_results.json").read_text()).get("args") or {}
    except (OSError, ValueError, AttributeError):
        return {}
    found = args.get("vars") or {}
    return found if isinstance(found, dict) else {}


def slim_build(state_dir: Path, home: Path, project_dir: Path = PROJECT_DIR) -> SlimCiResult:
    """Run `dbt build --select state:modified+ --defer --state DIR` on the project; dbt's output
    streams to ours. Returns the exit code and the unique ids dbt executed."""
    state = check_state(state_dir)
    if not (project_dir / "dbt_project.yml").is_file():
        raise SlimCiError(f"--project-dir {project_dir}: no dbt_project.yml there")
    target = home / "ci-target"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **dbt_environment(home),
        "DBT_TARGET_PATH": str(target),
        "DBT_PROJECT_DIR": str(project_dir),
        "DBT_PROFILES_DIR": str(project_dir),
    }
    # A stale run_results.json would otherwise be read as this run's when dbt fails before running.
    (target / "run_results.json").unlink(missing_ok=True)
    command = [dbt_executable(), "build", "--select", "state:modified+", "--defer", "--state", str(state)]
    if dbt_vars := state_vars(state):
        command += ["--vars", json.dumps(dbt_vars)]
    # The same single-writer warehouse as `strata build`: wait for a running build, never fight it.
    with warehouse_lock(home):
        completed = subprocess.run(command, cwd=project_dir, env=env, check=False)
    return SlimCiResult(completed.returncode, target, executed_nodes(target))


def executed_nodes(target: Path) -> list[str]:
    """unique_ids of the nodes the last dbt command in `target` executed (empty when it wrote no
    run_results.json, e.g. it failed before running anything)."""
    results = target / "run_results.json"
    if not results.is_file():
        return []
    return [result["unique_id"] for result in json.loads(results.read_text())["results"]]
