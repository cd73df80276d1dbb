"""The observability history: one SQLite file in WAL mode, $STRATA_HOME/observability.sqlite.

SQLite rather than DuckDB: a DuckDB file open for writing cannot be opened by any other process,
so `strata report` (or the UI) could not read the history while a build records into it. In WAL
mode SQLite readers see the last committed state while one writer appends. Rows are keyed by
(invocation_id, unique_id) and written by upsert, so recording an invocation twice (a retried
step, a re-run of the recorder) changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

from orchestration.observability.artifacts import InvocationRecord, NodeResult, parse_target_dir
from orchestration.settings import strata_home

STORE_NAME = "observability.sqlite"
# Pruning deletes an invocation only when it is both older than KEEP_DAYS and outside the last
# KEEP_INVOCATIONS: a rarely built home keeps enough runs for the flags' medians, a busy one
# keeps three months.
KEEP_DAYS = 90
KEEP_INVOCATIONS = 200
# A build writing while the report reads (or two homes' recorders) waits instead of failing.
BUSY_TIMEOUT_MS = 30_000

SCHEMA = """
create table if not exists invocations (
    invocation_id text primary key,
    command text,
    invocation_command text,
    target text,
    dbt_version text,
    schema_version text not null,
    started_at text not null,
    generated_at text,
    elapsed_time real not null,
    full_refresh integer not null,
    window_start text,
    window_end text,
    recorded_at text not null
);
create index if not exists invocations_started_at on invocations (started_at);
create table if not exists node_results (
    invocation_id text not null references invocations (invocation_id) on delete cascade,
    unique_id text not null,
    name text not null,
    resource_type text not null,
    materialization text,
    layer text,
    status text not null,
    thread_id text not null,
    compile_started_at text,
    compile_completed_at text,
    execute_started_at text,
    execute_completed_at text,
    execution_time real not null,
    rows_affected integer,
    rows_inserted integer,
    rows_updated integer,
    rows_deleted integer,
    rows_total integer,
    failures integer,
    message text,
    depends_on text not null,
    -- the result's place in run_results.json (dbt's completion order)
    position integer not null,
    primary key (invocation_id, unique_id)
);
create index if not exists node_results_unique_id on node_results (unique_id);
"""

INVOCATION_COLUMNS = [f.name for f in fields(InvocationRecord) if f.name != "nodes"]
NODE_COLUMNS = [f.name for f in fields(NodeResult)]
TIMESTAMP_COLUMNS = {
    "started_at",
    "generated_at",
    "compile_started_at",
    "compile_completed_at",
    "execute_started_at",
    "execute_completed_at",
}


class StoreError(Exception):
    """The observability store is missing or holds no invocation."""


def default_store_path(home: Path | None = None) -> Path:
    return (home or strata_home()) / STORE_NAME


@contextmanager
def connect(store_path: Path, create: bool = True) -> Iterator[sqlite3.Connection]:
    if not create and not store_path.exists():
        raise StoreError(
            f"no observability store at {store_path}"
            " (each recorded dbt invocation adds to it, see docs/observability.md)"
        )
    store_path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(store_path, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        connection.execute("pragma journal_mode = wal")
        # In WAL mode "normal" syncs at checkpoints, not at each commit: a power cut may lose the
        # last recordings but never corrupts the file, a fair price for a history of timings.
        connection.execute("pragma synchronous = normal")
        connection.execute("pragma foreign_keys = on")
        connection.executescript(SCHEMA)
        yield connection
        connection.commit()
    finally:
        connection.close()


def _to_sql(name: str, value):
    if name in TIMESTAMP_COLUMNS:
        return value.isoformat() if value is not None else None
    if name == "depends_on":
        return json.dumps(list(value))
    if name == "full_refresh":
        return int(value)
    return value


def _from_sql(name: str, value):
    if name in TIMESTAMP_COLUMNS:
        return dt.datetime.fromisoformat(value) if value is not None else None
    if name == "depends_on":
        return tuple(json.loads(value))
    if name == "full_refresh":
        return bool(value)
    return value


def _upsert(connection: sqlite3.Connection, table: str, columns: list[str], keys: list[str], rows: list[list]) -> None:
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns if column not in keys)
    connection.executemany(
        f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)}) "
        f"on conflict ({', '.join(keys)}) do update set {updates}",
        rows,
    )


def save_invocation(
    store_path: Path, record: InvocationRecord, now: dt.datetime | None = None, prune: bool = True
) -> None:
    """Upsert the invocation and its node results in one transaction, then prune."""
    now = now or dt.datetime.now(dt.UTC)
    with connect(store_path) as connection:
        invocation_row = [_to_sql(name, getattr(record, name)) for name in INVOCATION_COLUMNS]
        _upsert(
            connection,
            "invocations",
            [*INVOCATION_COLUMNS, "recorded_at"],
            ["invocation_id"],
            [[*invocation_row, now.isoformat()]],
        )
        node_rows = [
            [record.invocation_id, position, *(_to_sql(name, getattr(node, name)) for name in NODE_COLUMNS)]
            for position, node in enumerate(record.nodes)
        ]
        _upsert(
            connection,
            "node_results",
            ["invocation_id", "position", *NODE_COLUMNS],
            ["invocation_id", "unique_id"],
            node_rows,
        )
        if prune:
            prune_history(connection, now)


def prune_history(
    connection: sqlite3.Connection,
    now: dt.datetime,
    keep_days: int = KEEP_DAYS,
    keep_invocations: int = KEEP_INVOCATIONS,
) -> int:
    """Delete the invocations older than keep_days that are not among the last keep_invocations."""
    cutoff = (now - dt.timedelta(days=keep_days)).isoformat()
    doomed = [
        row[0]
        for row in connection.execute(
            "select invocation_id from invocations where started_at < ? and invocation_id not in "
            "(select invocation_id from invocations order by started_at desc limit ?)",
            (cutoff, keep_invocations),
        )
    ]
    connection.executemany("delete from invocations where invocation_id = ?", [(item,) for item in doomed])
    return len(doomed)


def record_invocation(target_dir: Path, store_path: Path | None = None) -> InvocationRecord:
    """Parse dbt's artifacts in target_dir and add the invocation to the history.

    Call it after each dbt invocation. Raises ArtifactError (unreadable artifacts), sqlite3.Error
    or OSError (store); a build catches whatever it raises, so observability never fails a build
    that succeeded (orchestration/dbt_assets.py).
    """
    record = parse_target_dir(target_dir)
    save_invocation(store_path or default_store_path(), record)
    return record


def load_history(store_path: Path) -> list[InvocationRecord]:
    """Every stored invocation with its node results, oldest first; StoreError when there is none."""
    with connect(store_path, create=False) as connection:
        connection.row_factory = sqlite3.Row
        invocations = connection.execute(
            f"select {', '.join(INVOCATION_COLUMNS)} from invocations order by started_at, invocation_id"
        ).fetchall()
        nodes: dict[str, list[NodeResult]] = {}
        for row in connection.execute(
            f"select invocation_id, {', '.join(NODE_COLUMNS)} from node_results order by invocation_id, position"
        ):
            nodes.setdefault(row["invocation_id"], []).append(
                NodeResult(**{name: _from_sql(name, row[name]) for name in NODE_COLUMNS})
            )
    if not invocations:
        raise StoreError(
            f"the observability store {store_path} holds no invocation yet"
            " (each recorded dbt invocation adds to it, see docs/observability.md)"
        )
    return [
        InvocationRecord(
            **{name: _from_sql(name, row[name]) for name in INVOCATION_COLUMNS},
            nodes=tuple(nodes.get(row["invocation_id"], ())),
        )
        for row in invocations
    ]


def invocation_count(store_path: Path) -> int:
    with connect(store_path, create=False) as connection:
        return connection.execute("select count(*) from invocations").fetchone()[0]
