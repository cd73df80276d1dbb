"""Fixtures shared by the test modules: real runs of the strata CLI, jafgen and dbt."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

# First, as in the CLI and the UI: dagster-dbt without dbt-core (orchestration/dagster_dbt_api.py),
# whatever a test module imports later.
import orchestration.dagster_dbt_api  # noqa: F401
from orchestration.settings import PROJECT_DIR

BIN = Path(sys.executable).parent
JAFGEN = BIN / "jafgen"
CUSTOM_PREFIX = "shop"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_strata(home: Path, *args: str, timeout: float = 900, env: dict[str, str] | None = None) -> Run:
    """Run the installed `strata` console script with STRATA_HOME=home, as a user would."""
    completed = subprocess.run(
        [str(BIN / "strata"), *args],
        env={**os.environ, **(env or {}), "STRATA_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(completed.returncode, completed.stdout, completed.stderr)


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as connection:
        return connection.sql(sql).fetchall()


def copy_landing(source_home: Path, target_home: Path) -> Path:
    shutil.copytree(source_home / "landing", target_home / "landing")
    return target_home


@pytest.fixture(scope="session")
def jafgen_runs(tmp_path_factory) -> dict[str, Path]:
    """`jafgen 1` run once with the default prefix and once with `--pre shop`, side by side.

    Returns prefix -> the directory jafgen ran in (it writes ``jaffle-data/`` below it).
    """
    assert JAFGEN.exists(), f"jafgen is not installed next to {sys.executable}: install the dev extra"
    runs = {"raw": tmp_path_factory.mktemp("jafgen_raw"), CUSTOM_PREFIX: tmp_path_factory.mktemp("jafgen_pre")}
    procs = {
        prefix: subprocess.Popen(
            [str(JAFGEN), "1"] + ([] if prefix == "raw" else ["--pre", prefix]),
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for prefix, cwd in runs.items()
    }
    for prefix, proc in procs.items():
        output, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"jafgen --pre {prefix} failed:\n{output.decode(errors='replace')}"
    return runs


@pytest.fixture(scope="session")
def jafgen_dir(jafgen_runs) -> Path:
    """The parent directory holding ``jaffle-data/raw_*.csv``."""
    return jafgen_runs["raw"]


@pytest.fixture(scope="session")
def project_copy_factory(tmp_path_factory):
    """A copy of the dbt project that a test may change without touching the repository."""

    def make() -> Path:
        target = tmp_path_factory.mktemp("project")
        for name in ("dbt_project.yml", "profiles.yml"):
            shutil.copy(PROJECT_DIR / name, target / name)
        for name in ("models", "macros", "seeds", "tests"):
            shutil.copytree(PROJECT_DIR / name, target / name)
        return target

    return make
