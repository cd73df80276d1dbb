"""The Dagster instance of a data home: $STRATA_HOME/dagster, configured by the repository's dagster.yaml."""

import shutil
from pathlib import Path

from dagster import DagsterInstance

from orchestration.settings import PROJECT_DIR, strata_home

INSTANCE_CONFIG = PROJECT_DIR / "dagster.yaml"


def dagster_home(home: Path | None = None) -> Path:
    """DAGSTER_HOME for a data home, with the repository's dagster.yaml installed (refreshed when it changed)."""
    directory = (home or strata_home()) / "dagster"
    directory.mkdir(parents=True, exist_ok=True)
    installed = directory / "dagster.yaml"
    if not installed.exists() or installed.read_bytes() != INSTANCE_CONFIG.read_bytes():
        shutil.copyfile(INSTANCE_CONFIG, installed)
    return directory


def instance_for(home: Path | None = None) -> DagsterInstance:
    return DagsterInstance.from_config(str(dagster_home(home)))
