"""Incremental builds survive what production throws at them.

* Schema drift: the generator adds `orders.channel` from day N. raw keeps the new column
  (`append_new_columns`), null for the batches before N and as delivered from N on; conformed and
  modeled keep their declared columns (`fail`, explicit column lists) and keep building; daily
  windows still end where a full build of the same landing does.
* A killed build: `strata build` SIGKILLed (with its dbt child) while the day's models are being
  written, then re-run, ends in exactly the tables of an uninterrupted build, with no duplicate
  keys and no half-loaded day, even though the kill leaves a DuckDB WAL behind to be replayed.

See docs/layers.md ("raw" and "Incremental merges").
"""

from __future__ import annotations

import datetime as dt
import os
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pytest

from orchestration.landing import ENTITY_COLUMNS
from pytests.conftest import BIN, copy_landing, run_strata
from pytests.warehouses import (
    LAYERS,
    duplicate_keys_by_model,
    manifest_models,
    scalar,
    table_columns,
    warehouse,
    warehouse_differences,
)

pytestmark = pytest.mark.xdist_group("resilience")

DAILY_RAW_MODELS = ("raw_customers", "raw_orders", "raw_items", "raw_events")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def day_after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=1)


def build_window(home: Path, start: dt.date, end: dt.date):
    return run_strata(home, "build", "--start", start.isoformat(), "--end", end.isoformat())


# ---------------------------------------------------------------------------------------------
# Schema drift (a new source column from day N)
# ---------------------------------------------------------------------------------------------

DRIFT_START = dt.date(2024, 1, 1)
DRIFT_DAYS = 4
NEW_COLUMN_FROM = dt.date(2024, 1, 3)
# The orders columns delivered before the drift (docs/generator.md); `channel` comes after them.
ORDER_COLUMNS = ENTITY_COLUMNS["orders"]


def test_a_new_source_column_is_kept_in_raw_and_conformed_and_modeled_keep_their_columns(tmp_path):
    daily, full = tmp_path / "daily", tmp_path / "full"
    generated = run_strata(
        daily,
        "generate",
        "--start",
        DRIFT_START.isoformat(),
        "--days",
        str(DRIFT_DAYS),
        "--orders-per-day",
        "100",
        "--new-column-from",
        NEW_COLUMN_FROM.isoformat(),
        "--no-progress",
    )
    assert generated.returncode == 0, generated.output
    copy_landing(daily, full)
    days = [DRIFT_START + dt.timedelta(days=n) for n in range(DRIFT_DAYS)]
    landed_header = (daily / "landing/orders" / NEW_COLUMN_FROM.isoformat() / "orders.csv").open().readline()
    assert landed_header.rstrip("\n").split(",") == [*ORDER_COLUMNS, "channel"], "the generator did not add the column"

    downstream_columns: dict[str, list] = {}
    for day in days:
        run = build_window(daily, day, day_after(day))
        assert run.returncode == 0, f"{day}: {run.output[-3000:]}"
        with duckdb.connect(str(warehouse(daily)), read_only=True) as connection:
            raw_columns = [name for name, _ in table_columns(connection, "warehouse", "raw", "raw_orders")]
            assert ("channel" in raw_columns) == (day >= NEW_COLUMN_FROM), f"{day}: raw_orders has {raw_columns}"
            current = {
                table: table_columns(connection, "warehouse", schema, table)
                for schema, table in (("conformed", "cnf_orders"), ("modeled", "fct_orders"))
            }
            # The new column stops at raw: no conformed or modeled table gains it.
            carriers = connection.sql(
                "select table_schema || '.' || table_name from information_schema.columns"
                " where column_name = 'channel' and table_schema in ('conformed', 'reference', 'modeled')"
            ).fetchall()
            assert carriers == [], f"{day}: the new column reached {carriers}"
        # Downstream columns never move: the same names and types before and after the drift.
        downstream_columns = downstream_columns or current
        assert current == downstream_columns, f"{day}: downstream columns changed"

    # raw appends the new column last and keeps every delivered and load column before it.
    assert raw_columns[-1] == "channel"
    assert set(ORDER_COLUMNS) < set(raw_columns)

    # The documented policy: append_new_columns in raw; fail in conformed and modeled (for their
    # incremental models), whose columns are explicit: declared in YAML (modeled: an enforced
    # contract), and exactly what the warehouse holds.
    models = manifest_models(daily)
    for name, node in models.items():
        config, layer = node["config"], node["schema"]
        if layer == "raw":
            assert config["on_schema_change"] == "append_new_columns", name
        elif layer in ("conformed", "modeled") and config["materialized"] == "incremental":
            assert config["on_schema_change"] == "fail", name
        if layer == "modeled":
            assert config["contract"]["enforced"], name
    for table, columns in downstream_columns.items():
        declared = set(models[table]["columns"])
        assert {name for name, _ in columns} == declared, f"{table}: columns are not the declared ones"

    with duckdb.connect(str(warehouse(daily)), read_only=True) as connection:
        by_batch = dict(
            (batch, (rows, filled))
            for batch, rows, filled in connection.sql(
                "select _batch_date, count(*), count(channel) from raw.raw_orders group by all"
            ).fetchall()
        )
        assert sorted(by_batch) == days
        for day in days:
            rows, filled = by_batch[day]
            assert rows > 0, day
            # Null before the column existed, delivered on every row from the day it did.
            assert filled == (rows if day >= NEW_COLUMN_FROM else 0), f"{day}: {filled} of {rows} rows have a channel"
            if day < NEW_COLUMN_FROM:
                continue
            # The values are the delivered ones, row for row.
            landed = daily / "landing/orders" / day.isoformat() / "orders.csv"
            columns = ", ".join((*ORDER_COLUMNS, "channel"))
            loaded_sql = f"select {columns} from raw.raw_orders where _batch_date = '{day}'"
            file_sql = f"select {columns} from read_csv('{landed}', all_varchar = true, header = true)"
            for first, second in ((loaded_sql, file_sql), (file_sql, loaded_sql)):
                assert scalar(connection, f"select count(*) from ({first} except all {second})") == 0, day
            assert {row[0] for row in connection.sql(f"select distinct channel from ({file_sql})").fetchall()} == {
                "online",
                "in_store",
            }

        # Downstream keeps working on the drifted days.
        for day in days:
            for schema, table in (("conformed", "cnf_orders"), ("modeled", "fct_orders")):
                rows = scalar(connection, f"select count(*) from {schema}.{table} where order_date = '{day}'")
                assert rows > 0, f"{schema}.{table} has no orders of {day}"

    # Daily windows across the drift end where one full build of the same landing does.
    built = run_strata(full, "build")
    assert built.returncode == 0, built.output[-3000:]
    problems, _ = warehouse_differences(
        daily, full, {("raw", "raw_orders"), ("conformed", "cnf_orders"), ("modeled", "fct_orders")}
    )
    assert problems == [], "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# A build killed mid-run, then re-run
# ---------------------------------------------------------------------------------------------

KILL_START = dt.date(2024, 1, 1)
KILL_DAYS = 5
LAST_DAY = KILL_START + dt.timedelta(days=KILL_DAYS - 1)
# Kill points: a line of dbt's output. The kill follows within milliseconds, so later models of
# the run are still to come (or half-written) when the build dies.
KILL_POINTS = {
    # conformed: the first merge committed, the others to come
    "first_conformed_merge_done": r"OK created sql incremental model conformed\.",
    # modeled: the first data product being rebuilt; cnf_orders and the facts not merged yet
    "first_modeled_started": r"START sql \w+ model modeled\.",
}
MODEL_LINE = re.compile(r"OK created sql \w+ model (\w+)\.(\w+)")


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> dict[str, Path]:
    """Homes shared by the kill tests.

    base: days 1..N-1 built as one window. uninterrupted: base, then the day-N window.
    """
    base = tmp_path_factory.mktemp("history_base")
    generated = run_strata(
        base,
        "generate",
        "--start",
        KILL_START.isoformat(),
        "--days",
        str(KILL_DAYS),
        "--orders-per-day",
        "150",
        "--duplicate-rate",
        "0.05",
        "--malformed-rate",
        "0.02",
        "--update-rate",
        "0.05",
        "--no-progress",
    )
    assert generated.returncode == 0, generated.output
    built = build_window(base, KILL_START, LAST_DAY)
    assert built.returncode == 0, built.output[-3000:]
    uninterrupted = tmp_path_factory.mktemp("history_uninterrupted") / "home"
    shutil.copytree(base, uninterrupted)
    last = build_window(uninterrupted, LAST_DAY, day_after(LAST_DAY))
    assert last.returncode == 0, last.output[-3000:]
    return {"base": base, "uninterrupted": uninterrupted}


def build_and_kill(home: Path, start: dt.date, end: dt.date, kill_at: str, timeout: float = 600):
    """Start `strata build` for [start, end) and SIGKILL it and its dbt child on the first output
    line matching kill_at. Returns (still running when killed, its return code, its output)."""
    process = subprocess.Popen(
        [str(BIN / "strata"), "build", "--verbose", "--start", start.isoformat(), "--end", end.isoformat()],
        env={**os.environ, "STRATA_HOME": str(home), "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        for line in process.stdout:
            lines.put(ANSI.sub("", line))
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    pattern = re.compile(kill_at)
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            line = lines.get(timeout=max(deadline - time.monotonic(), 0.1))
            if line is None:
                raise AssertionError(f"the build ended before {kill_at!r}:\n{''.join(seen[-60:])}")
            seen.append(line)
            if pattern.search(line):
                break
        alive = process.poll() is None
        os.killpg(process.pid, signal.SIGKILL)
    except BaseException:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        raise
    finally:
        process.wait(timeout=60)
        reader.join(timeout=60)
    # The dbt child is gone too (its group no longer exists once it has been reaped).
    for _ in range(100):
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    while not lines.empty():
        if (line := lines.get_nowait()) is not None:
            seen.append(line)
    return alive, process.returncode, "".join(seen)


def after_kill_state(home: Path, scratch: Path, finished: set[tuple[str, str]]) -> dict:
    """What the killed run left, read from a copy (warehouse + WAL) so the real re-run still has
    to replay the WAL itself."""
    scratch.mkdir()
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        if (home / name).exists():
            shutil.copy(home / name, scratch / name)
    state = {}
    with duckdb.connect(str(scratch / "warehouse.duckdb")) as connection:
        for table in DAILY_RAW_MODELS:
            if ("raw", table) not in finished:
                continue
            state[table] = scalar(connection, f"select count(*) from raw.{table} where _batch_date = '{LAST_DAY}'")
        state["fct_orders"] = scalar(
            connection, f"select count(*) from modeled.fct_orders where order_date = '{LAST_DAY}'"
        )
    return state


@pytest.mark.parametrize("kill_point", sorted(KILL_POINTS))
def test_a_build_killed_mid_run_and_rerun_ends_like_an_uninterrupted_build(history, kill_point, tmp_path):
    killed = tmp_path / "killed"
    shutil.copytree(history["base"], killed)
    # Only the killed run could write run results now: they show whether it finished.
    (killed / "target" / "run_results.json").unlink()

    alive, returncode, output = build_and_kill(killed, LAST_DAY, day_after(LAST_DAY), KILL_POINTS[kill_point])

    # Killed mid-run: still running, died of the signal, never finished nor wrote run results.
    assert alive, output[-3000:]
    assert returncode == -signal.SIGKILL
    # dbt's closing summary ("Finished running 41 table models, ... in ..."), not the per-node
    # "Finished running node ..." lines that the row-count plugin forwards as each node ends.
    assert not re.search(r"Finished running \d+ ", output) and "Done." not in output
    assert not (killed / "target" / "run_results.json").exists()
    finished = set(MODEL_LINE.findall(output))
    assert ("modeled", "fct_orders") not in finished
    # The kill leaves committed work in a WAL, never checkpointed (a clean close would remove it).
    assert (killed / "warehouse.duckdb.wal").exists(), "no WAL left: the kill did not interrupt writing"
    state = after_kill_state(killed, tmp_path / "after_kill", finished)
    # Half a day: the raw batches committed before the kill are in, the data products are not.
    assert state["fct_orders"] == 0, state
    committed_raw = {table: rows for table, rows in state.items() if table in DAILY_RAW_MODELS}
    assert committed_raw and all(rows > 0 for rows in committed_raw.values()), state

    rerun = build_window(killed, LAST_DAY, day_after(LAST_DAY))

    assert rerun.returncode == 0, rerun.output[-3000:]
    assert "ERROR=0" in rerun.stdout and "SKIP=0" in rerun.stdout
    assert not (killed / "warehouse.duckdb.wal").exists(), "the WAL was not replayed and checkpointed"
    # The killed build's Dagster run no longer shows as started: the re-run marked it failed.
    from dagster import DagsterRunStatus

    from orchestration.dagster_home import instance_for

    statuses = sorted(record.dagster_run.status.value for record in instance_for(killed).get_run_records())
    assert DagsterRunStatus.STARTED.value not in statuses, statuses
    assert DagsterRunStatus.FAILURE.value in statuses, statuses

    # Exactly the tables of the uninterrupted build.
    problems, tables = warehouse_differences(killed, history["uninterrupted"])
    assert problems == [], "\n".join(problems)
    assert {schema for schema, _ in tables} == set(LAYERS)
    assert len(tables) > 30

    with duckdb.connect(str(warehouse(killed)), read_only=True) as connection:
        # No half-loaded day: each raw table holds the last day from one run only, the re-run.
        for table in DAILY_RAW_MODELS:
            loads = scalar(
                connection, f"select count(distinct _loaded_at) from raw.{table} where _batch_date = '{LAST_DAY}'"
            )
            assert loads == 1, f"raw.{table}: the last day comes from {loads} runs"
    # No duplicate keys in any merged model.
    checked = duplicate_keys_by_model(killed)
    assert all(duplicates == [] for duplicates in checked.values()), checked
    assert {"cnf_orders", "cnf_order_items", "cnf_events", "cnf_customers"} <= set(checked)
