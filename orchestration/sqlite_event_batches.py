"""Store a batch of Dagster events in one SQLite transaction per database.

A run over a range of daily partitions records one materialization per asset and partition (a
30-day build of Strata's 49 dbt assets: 1,470), and before it starts, one "planned" event per
asset and per asset check (some 360). Dagster hands such events to the event log storage as
batches (per asset output, and the planned events of a run, when DAGSTER_EVENT_BATCH_SIZE is
set), but its SQLite storage stores a batch one event at a time: every event opens a new engine
and connection to the run's database, then to the cross-run index, a check event a third, and
each commits (BENCHMARKS.md, "Orchestration overhead").

Here a batch runs Dagster's own `store_event` for each of its events, unchanged, while every
connection it asks for on this thread is the batch's one open connection to that database: one
transaction per database, committed when the batch ends, rolled back entirely when any event
fails (Dagster then stores the events again one at a time). Outside batches, connections are
made as Dagster makes them (same lock, busy timeout and initialization), except that each
database keeps one engine with a small connection pool instead of a new engine and SQLite
connection per use: opening the connection and compiling the statements were most of the cost
of a single event. SQLAlchemy pools SQLite files this way by default; Dagster asks for none.

The planned check events of a range run are stored with their event serialized once per event
instead of once per partition (`store_check_planned`).

Only the local SQLite instance sets DAGSTER_EVENT_BATCH_SIZE (orchestration/dagster_home.py; `strata ui`
passes it on to its runs). Production's Postgres storage pools its connections and has its own
batch write, which Strata leaves off: nothing here changes how it stores events.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

from dagster import EventLogEntry
from dagster._core.storage.asset_check_execution_record import AssetCheckExecutionRecordStatus
from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
    INDEX_SHARD_NAME,
    SQLITE_BUSY_TIMEOUT_SECONDS,
    SqliteEventLogStorage,
)
from dagster._serdes import serialize_value
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

# Dagster's default: batching off. Any size at least the partitions of the longest range run keeps
# each asset output to one batch; the events wait in memory only until the output is complete.
EVENT_BATCH_SIZE = "1000"
# Engines kept per storage: the index and the databases of the runs being written. A long-lived
# process (the webserver, the daemon) sees every run's database; older engines are dropped.
ENGINES_KEPT = 8

_batch_in_progress = threading.local()


class BatchConnections:
    """The open connection of each database a batch has written so far, in one transaction each."""

    def __init__(self, storage: SqliteEventLogStorage, stack: ExitStack):
        self.storage = storage
        self.stack = stack
        self.connections: dict[str, Connection] = {}

    def connection(self, shard: str) -> Connection:
        if shard not in self.connections:
            connection = self.stack.enter_context(engine_for_shard(self.storage, shard).connect())
            self.stack.enter_context(connection.begin())
            self.connections[shard] = connection
        return self.connections[shard]


def current_batch(storage: SqliteEventLogStorage) -> BatchConnections | None:
    batch = getattr(_batch_in_progress, "connections", None)
    return batch if batch is not None and batch.storage is storage else None


def engine_for_shard(storage: SqliteEventLogStorage, shard: str) -> Engine:
    """The shard's engine, created (and its database initialized) on first use. Call under _db_lock."""
    owner, engines = storage.__dict__.get("_strata_engines", (None, None))
    if owner != os.getpid():
        # A forked child must not use its parent's pooled connections (SQLAlchemy's rule for fork):
        # it starts a pool of its own and leaves the parent's connections alone.
        engines = OrderedDict()
        storage.__dict__["_strata_engines"] = (os.getpid(), engines)
    engine = engines.get(shard)
    if engine is not None and shard not in storage._initialized_dbs:
        # Dagster forgets its initialized databases after wipe() (which deletes the run databases'
        # files) and upgrade(): pooled connections to a deleted file must not be used again.
        engines.pop(shard).dispose()
        engine = None
    if engine is None:
        engine = create_engine(
            storage.conn_string_for_shard(shard),
            # One connection serves: Dagster holds the storage's lock while it uses one.
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=4,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        if shard not in storage._initialized_dbs:
            storage._initdb(engine)
            storage._initialized_dbs.add(shard)
        engines[shard] = engine
        while len(engines) > ENGINES_KEPT:
            engines.popitem(last=False)[1].dispose()
    engines.move_to_end(shard)
    return engine


@contextmanager
def connect(storage: SqliteEventLogStorage, shard: str) -> Iterator[Connection]:
    """SqliteEventLogStorage._connect: the batch's connection inside a batch on this thread, else a
    connection of its own in a transaction, as Dagster's (same lock, timeout and initialization)."""
    batch = current_batch(storage)
    if batch is not None:
        yield batch.connection(shard)
        return
    with storage._db_lock, engine_for_shard(storage, shard).connect() as connection, connection.begin():
        yield connection


def pooled_engine(storage: SqliteEventLogStorage, shard: str) -> Engine | None:
    """The shard's engine if this process has made one (engine_for_shard), else None."""
    owner, engines = storage.__dict__.get("_strata_engines", (None, {}))
    return engines.get(shard) if owner == os.getpid() else None


def has_table(storage: SqliteEventLogStorage, table_name: str) -> bool:
    """Dagster asks before every stored asset or check event, through a new engine each time.

    A table of the index database stays there while that database does, so a "yes" is kept with
    the index's pooled engine, which is replaced when Dagster forgets the database (wipe,
    upgrade). A "no" is asked again: a migration may add the table."""
    index_engine = pooled_engine(storage, INDEX_SHARD_NAME)
    kept_for, present = storage.__dict__.get("_strata_tables_present", (None, set()))
    if index_engine is not None and kept_for is index_engine and table_name in present:
        return True
    found = _dagster_has_table(storage, table_name)
    if found and index_engine is not None:
        if kept_for is not index_engine:
            present = set()
            storage.__dict__["_strata_tables_present"] = (index_engine, present)
        present.add(table_name)
    return found


def store_check_planned(storage: SqliteEventLogStorage, event: EventLogEntry, event_id: int | None) -> None:
    """Dagster's `_store_asset_check_evaluation_planned`, with the event serialized once.

    Dagster writes one execution row per partition of a planned check, and serializes the whole
    event again for each row: the 308 planned checks of a 30-day run were 9,240 serializations,
    over a second before the run started. The rows are the same, each holding the same serialized
    event, written with one executemany instead of a multi-row VALUES compiled per event."""
    planned = event.get_dagster_event().event_specific_data
    partition_keys = planned.partitions_subset.get_partition_keys() if planned.partitions_subset else [None]
    row = {
        "asset_key": planned.asset_key.to_string(),
        "check_name": planned.check_name,
        "run_id": event.run_id,
        "execution_status": AssetCheckExecutionRecordStatus.PLANNED.value,
        "evaluation_event": serialize_value(event),
        "evaluation_event_timestamp": storage._event_insert_timestamp(event),
        "evaluation_event_storage_id": event_id,
    }
    rows = [{**row, "partition": key} for key in partition_keys]
    if rows:  # an empty list would make SQLAlchemy insert one row of defaults
        with storage.index_connection() as connection:
            connection.execute(AssetCheckExecutionsTable.insert(), rows)


def store_event_batch(storage: SqliteEventLogStorage, events: Sequence[EventLogEntry]) -> None:
    # The storage's lock is held for the whole batch, as Dagster holds it for each connection.
    with storage._db_lock, ExitStack() as stack:
        _batch_in_progress.connections = BatchConnections(storage, stack)
        try:
            for event in events:
                storage.store_event(event)
        finally:
            _batch_in_progress.connections = None


_dagster_has_table = SqliteEventLogStorage.has_table


def batch_sqlite_event_writes() -> None:
    """Install the batched write and the engine reuse on Dagster's SQLite event storage (once per process)."""
    if not getattr(batch_sqlite_event_writes, "installed", False):
        SqliteEventLogStorage._connect = connect
        SqliteEventLogStorage.has_table = has_table
        SqliteEventLogStorage.store_event_batch = store_event_batch
        SqliteEventLogStorage._store_asset_check_evaluation_planned = store_check_planned
        batch_sqlite_event_writes.installed = True
