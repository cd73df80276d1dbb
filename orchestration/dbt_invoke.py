"""Runs dbt for Strata against the data home in STRATA_HOME.

dbt runs as a child process: dbt-duckdb keeps the warehouse file open (and locked) for the life
of the process that ran it, so an in-process run would keep readers such as the build summary
out; a child also releases everything when it ends, even when it is killed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration.settings import PROJECT_DIR, strata_home


@dataclass(frozen=True)
class Window:
    """A half-open UTC window [start, end) of batch dates; None on a side means unbounded."""

    start: dt.date | None = None
    end: dt.date | None = None

    def __post_init__(self) -> None:
        if self.start and self.end and self.start >= self.end:
            raise ValueError(f"window start {self.start} must be before end {self.end}")

    def dbt_vars(self) -> dict[str, str]:
        window = {}
        if self.start:
            window["window_start"] = self.start.isoformat()
        if self.end:
            window["window_end"] = self.end.isoformat()
        return window


# dbt unit tests check the models' logic on fixed inputs: a scheduled run would repeat the same
# result every day (dbt's own advice is to run them in development and CI). `make check` runs them.
UNIT_TESTS_LEFT_TO_CI = ("--exclude-resource-type", "unit_test")


@dataclass(frozen=True)
class DbtOutcome:
    success: bool
    target_dir: Path
    error: str | None = None


def dbt_environment(home: Path) -> dict[str, str]:
    """Environment for a dbt process bound to one data home.

    target/ and logs/ go inside the data home so that two homes (a test run beside a dev run)
    never overwrite each other's artifacts in the shared repository checkout.
    """
    return {
        "STRATA_HOME": str(home),
        "DBT_TARGET_PATH": str(home / "target"),
        "DBT_LOG_PATH": str(home / "logs"),
        "DBT_PROFILES_DIR": str(PROJECT_DIR),
        "DBT_PROJECT_DIR": str(PROJECT_DIR),
    }


def dbt_executable() -> str:
    """dbt as Strata runs it (orchestration/dbt_entry.py), next to this Python: a virtualenv need
    not be activated."""
    executable = Path(sys.executable).with_name("strata-dbt")
    if not executable.exists():
        # An environment installed before strata-dbt existed: its console scripts are stale.
        raise FileNotFoundError(f"{executable} is missing: reinstall Strata (`make install` or `pip install -e .`)")
    return str(executable)


def invoke_dbt(args: list[str], home: Path | None = None, dbt_vars: dict | None = None) -> DbtOutcome:
    """Run one dbt command; its output streams to ours. Returns whether every node succeeded."""
    home = home or strata_home()
    home.mkdir(parents=True, exist_ok=True)
    command = [dbt_executable(), *args]
    if dbt_vars:
        command += ["--vars", json.dumps(dbt_vars)]
    completed = subprocess.run(command, cwd=PROJECT_DIR, env={**os.environ, **dbt_environment(home)}, check=False)
    error = None if completed.returncode == 0 else f"dbt {args[0]} exited with {completed.returncode}"
    return DbtOutcome(success=completed.returncode == 0, target_dir=home / "target", error=error)
