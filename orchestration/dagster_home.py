"""The Dagster instance of a data home: $STRATA_HOME/dagster, configured by the repository's dagster.yaml."""

import fcntl
import os
import shutil
from pathlib import Path

from dagster import DagsterInstance

from orchestration.settings import PROJECT_DIR, strata_home
from orchestration.sqlite_event_batches import EVENT_BATCH_SIZE, batch_sqlite_event_writes

INSTANCE_CONFIG = PROJECT_DIR / "dagster.yaml"

# A run over a range of N daily partitions would otherwise log one "materialization planned"
# event per asset and partition before it starts (20,000 for a year of jafgen data, each a SQLite
# commit). With this set Dagster logs one event per asset carrying the partition subset. The price,
# as Dagster documents it: when such a run fails, its partitions show as missing rather than failed.
# DAGSTER_EVENT_BATCH_SIZE hands each asset output's per-partition events to the storage as one
# batch, which the local SQLite storage then writes in one transaction (sqlite_event_batches.py).
# Both are set for the local instance only (instance_for, `strata ui`), never by the definitions,
# which production's run pods load too.
DAGSTER_ENVIRONMENT = {
    "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true",
    "DAGSTER_EVENT_BATCH_SIZE": EVENT_BATCH_SIZE,
}


def apply_dagster_environment() -> None:
    for name, value in DAGSTER_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


def tune_local_storage() -> None:
    """SQLite storage settings for any process that may write Dagster events; they touch only
    Dagster's SQLite classes, so a Postgres instance is unaffected."""
    relax_sqlite_durability()
    batch_sqlite_event_writes()


def relax_sqlite_durability() -> None:
    """SQLite storage commits every Dagster event with an fsync (synchronous=FULL); a range run
    stores one materialization per asset and partition, and on a busy disk the fsyncs dominated
    the run. In WAL mode, synchronous=NORMAL stays consistent after a crash and can only lose the
    last events on power loss: acceptable for the local instance (production uses Postgres)."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if getattr(relax_sqlite_durability, "installed", False):
        return

    @event.listens_for(Engine, "connect")
    def set_sqlite_pragmas(dbapi_connection, _record) -> None:
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    relax_sqlite_durability.installed = True


def dagster_home(home: Path | None = None) -> Path:
    """DAGSTER_HOME for a data home, with the repository's dagster.yaml installed (refreshed when it changed)."""
    directory = (home or strata_home()) / "dagster"
    directory.mkdir(parents=True, exist_ok=True)
    installed = directory / "dagster.yaml"
    if not installed.exists() or installed.read_bytes() != INSTANCE_CONFIG.read_bytes():
        shutil.copyfile(INSTANCE_CONFIG, installed)
    return directory


def instance_for(home: Path | None = None) -> DagsterInstance:
    """The home's instance. Two processes opening a fresh home at once both ran Dagster's SQLite
    migrations and one failed on alembic's version table, so storage is created under a lock."""
    apply_dagster_environment()
    tune_local_storage()
    directory = dagster_home(home)
    with (directory / "instance.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            instance = DagsterInstance.from_config(str(directory))
            # Storage is created lazily; touching each store here runs its migrations while the lock is held.
            instance.run_storage.get_runs_count()
            instance.event_log_storage.get_asset_keys(limit=1)
            instance.schedule_storage.all_instigator_state()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return instance
