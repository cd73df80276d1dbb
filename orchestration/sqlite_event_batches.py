"""Store a batch of Dagster asset events in one SQLite transaction per database.

A run over a range of daily partitions records one materialization per asset and partition: a
30-day build of Strata's 49 dbt assets writes 1,470 of them. Dagster hands such events to the
event log storage as batches (one per asset output, when DAGSTER_EVENT_BATCH_SIZE is set), but
its SQLite storage stores a batch one event at a time, and every event opens a new engine and
connection twice (the run's database, then the cross-run index) and commits twice: 9 ms of CPU
per event, most of it connection set-up and SQL compilation (BENCHMARKS.md, "Orchestration
overhead"). Here a batch of asset events is written with one connection and one transaction per
database, through the same statements and helper methods the storage's own `store_event` uses,
so the rows stored are the same. Any other batch (run status, asset checks: rare and small)
keeps Dagster's event-by-event path.

Only the local SQLite instance sets DAGSTER_EVENT_BATCH_SIZE (orchestration/dagster_home.py; `strata ui`
passes it on to its runs). Production's Postgres storage pools its connections and has its own
batch write, which Strata leaves off: nothing here changes how it stores events.
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import EventLogEntry
from dagster._core.storage.event_log.schema import SqlEventLogStorageTable
from dagster._core.storage.event_log.sqlite.sqlite_event_log import ASSET_EVENTS, SqliteEventLogStorage

# Dagster's default: batching off. Any size at least the partitions of the longest range run keeps
# each asset output to one batch; the events wait in memory only until the output is complete.
EVENT_BATCH_SIZE = "1000"


def is_asset_event(event: EventLogEntry) -> bool:
    return event.is_dagster_event and event.dagster_event_type in ASSET_EVENTS


def store_asset_event_batch(storage: SqliteEventLogStorage, events: Sequence[EventLogEntry]) -> None:
    if len({event.run_id for event in events}) != 1 or not all(is_asset_event(event) for event in events):
        for event in events:
            storage.store_event(event)
        return
    inserts = [storage.prepare_insert_event(event) for event in events]
    with storage.run_connection(events[0].run_id) as connection:
        run_ids = [connection.execute(insert).inserted_primary_key[0] for insert in inserts]
    try:
        # The cross-run index mirrors each asset event, as SqliteEventLogStorage.store_event does.
        with storage.index_transaction() as connection:
            for event, insert in zip(events, inserts, strict=True):
                event_id = connection.execute(insert).inserted_primary_key[0]
                storage._store_asset_event_tags(connection, [event], [event_id])
                storage._store_asset_event(connection, event, event_id)
    except Exception:
        # Dagster answers a failed batch by storing its events again one at a time: the run's
        # database must not keep this attempt's rows, or every event would be there twice.
        with storage.run_connection(events[0].run_id) as connection:
            connection.execute(SqlEventLogStorageTable.delete().where(SqlEventLogStorageTable.c.id.in_(run_ids)))
        raise


def batch_sqlite_event_writes() -> None:
    """Install the batched write on Dagster's SQLite event storage (once per process)."""
    if not getattr(batch_sqlite_event_writes, "installed", False):
        SqliteEventLogStorage.store_event_batch = store_asset_event_batch
        batch_sqlite_event_writes.installed = True
