"""Where Strata keeps things: the repository (dbt project) and the data home."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
DEFAULT_HOME = PROJECT_DIR / ".strata"


def strata_home() -> Path:
    """The data home: landing files, the warehouse, Dagster storage and reports.

    Resolved to an absolute path because dbt, DuckDB and Dagster may each run with another
    working directory, and a relative home would silently point at different places.
    """
    return Path(os.environ.get("STRATA_HOME") or DEFAULT_HOME).expanduser().resolve()


def landing_dir(home: Path | None = None) -> Path:
    return (home or strata_home()) / "landing"


def warehouse_path(home: Path | None = None) -> Path:
    return (home or strata_home()) / "warehouse.duckdb"
