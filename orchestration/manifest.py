"""The dbt project as Dagster sees it, and the parsed manifest its asset definitions are built from.

The manifest is prepared ahead of time (`dbt parse` into target/dagster/ of the repository), the
way dagster-dbt expects in deployment, so loading the definitions never parses the project.
In a working copy it is re-parsed only when a project file is newer than it: `dagster dev`, the
CLI and the tests then see model edits without a manual step, and an unchanged project loads
from the saved file.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from functools import cache, cached_property
from importlib.metadata import version as installed_version
from pathlib import Path

from dagster._utils import run_with_concurrent_update_guard
from packaging.version import Version

from orchestration.dagster_dbt_api import DbtCliResource, DbtProject
from orchestration.dbt_invoke import dbt_executable
from orchestration.settings import PROJECT_DIR

MANIFEST_TARGET = Path("target") / "dagster"
PROJECT_FILES = ("dbt_project.yml", "profiles.yml")
PROJECT_DIRS = ("models", "macros", "seeds", "tests", "snapshots", "analyses")
STAGING_PREFIX = ".parse-"
STAGING_ABANDONED_AFTER_SECONDS = 3600


@cache
def strata_dbt_project() -> DbtProject:
    return DbtProject(project_dir=PROJECT_DIR, target_path=MANIFEST_TARGET, profiles_dir=PROJECT_DIR)


def newest_project_file_mtime(project_dir: Path = PROJECT_DIR) -> float:
    newest = max((project_dir / name).stat().st_mtime for name in PROJECT_FILES)
    for directory in PROJECT_DIRS:
        root = project_dir / directory
        if root.is_dir():
            newest = max([newest, *(path.stat().st_mtime for path in root.rglob("*") if path.is_file())])
    return newest


def manifest_is_stale(project: DbtProject) -> bool:
    path = project.manifest_path
    return not path.exists() or path.stat().st_mtime < newest_project_file_mtime(project.project_dir)


def prepared_manifest_path() -> Path:
    """The manifest, parsed first if it is missing or older than the project's files."""
    project = strata_dbt_project()
    if manifest_is_stale(project):
        # The guard keeps two processes (test workers, the UI and a build) from parsing at once.
        run_with_concurrent_update_guard(project.manifest_path, parse_project, project=project)
    return project.manifest_path


class StrataDbtCliResource(DbtCliResource):
    """dagster-dbt's resource without two things it does in the orchestrating process before every
    dbt command, each costing about 1 s before dbt starts.

    - The in-process dbt adapter (a second load of the profile, project and dbt-duckdb) serves only
      `fetch_row_counts()` and `fetch_column_metadata()`, which query the warehouse after each
      model. Strata takes row counts from dbt's own events (docs/row-counts.md) and calls neither;
      without an adapter they would add no metadata. Skipping it also keeps dbt-core out of the
      orchestrating process (orchestration/dagster_dbt_api.py), where it would fail anyway.
    - `dbt --version` in a subprocess (a whole dbt start-up) tells dagster-dbt which dbt it drives.
      The executable is always strata-dbt from this environment (`dbt_executable()`), which runs
      the dbt-core installed beside this Python, so the installed version is the answer.
    """

    def _initialize_dbt_core_adapter(self, args):
        return None

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))


def strata_dbt_resource() -> DbtCliResource:
    # The dbt next to this Python, so a virtualenv need not be activated (it is not on PATH then).
    return StrataDbtCliResource(project_dir=strata_dbt_project(), dbt_executable=dbt_executable())


def parse_project(project: DbtProject) -> None:
    """Parse into a staging directory and move the manifest into place in one rename.

    dbt writes manifest.json in place, so a process that found the file fresh (another test
    worker, the UI) could read it half-written while the parse was still writing it. The
    staging directory starts from the saved parse state, so an edit re-parses only what changed.
    """
    # Absolute: dagster-dbt keeps target_path relative to the project, not to this process's cwd.
    target = Path(project.manifest_path).parent.resolve()
    target.mkdir(parents=True, exist_ok=True)
    for abandoned in target.parent.glob(STAGING_PREFIX + "*"):
        # Left by a parse that was killed; a live one is seconds old.
        if time.time() - abandoned.stat().st_mtime > STAGING_ABANDONED_AFTER_SECONDS:
            shutil.rmtree(abandoned, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=target.parent))
    try:
        saved_state = target / "partial_parse.msgpack"
        if saved_state.exists():
            shutil.copy2(saved_state, staging / saved_state.name)
        strata_dbt_resource().cli(["parse", "--quiet"], target_path=staging).wait()
        for produced in sorted(staging.iterdir(), key=lambda path: path.name == "manifest.json"):
            if produced.is_file():
                os.replace(produced, target / produced.name)  # the manifest last
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@cache
def load_manifest() -> dict:
    return json.loads(prepared_manifest_path().read_text())
