"""Incremental builds end where a full refresh does: the properties of docs/layers.md.

Thirty days of generated data with every kind of noise switched on are built one day at a time
(forward, with one day run twice in the middle; and backward), and compared with a full refresh
of the same landing: every merged model identical (EXCEPT ALL both ways, equal counts), no key
twice in any merged model after any run, re-running a window changes no table, and sessions that
span midnight and a window boundary stay one session.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pytests.conftest import copy_landing, run_strata
from pytests.warehouses import duplicate_keys_by_model, merge_models, table_checksums, warehouse_differences

START = dt.date(2024, 1, 1)
DAYS = 30
DAY_LIST = [START + dt.timedelta(days=n) for n in range(DAYS)]
NOISE = ("--duplicate-rate", "0.05", "--malformed-rate", "0.02", "--update-rate", "0.05", "--late-rate", "0.05")
# The merged models the comparison must cover; a test fails if one is missing, so a new model
# cannot silently stay untested.
EXPECTED_MERGE_MODELS = {
    "cnf_orders",
    "cnf_order_items",
    "cnf_events",
    "cnf_customers",
    "cnf_orders__rejects",
    "cnf_order_items__rejects",
    "cnf_events__rejects",
    "cnf_customers__rejects",
    "cnf_late_arrivals",
    "cnf_sessions",
    "fct_orders",
    "fct_order_items",
    "fct_daily_store_sales",
    "dim_customers",
    "dim_customers_history",
    "fct_sessions",
    "fct_daily_funnel",
}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    """Thirty days of landing data with all noise on, and a full build of it."""
    home = tmp_path_factory.mktemp("full")
    result = run_strata(
        home,
        "generate",
        "--start",
        START.isoformat(),
        "--days",
        str(DAYS),
        "--orders-per-day",
        "60",
        "--initial-customers",
        "200",
        *NOISE,
        "--no-progress",
    )
    assert result.returncode == 0, result.output
    built = run_strata(home, "build")
    assert built.returncode == 0, built.output[-3000:]
    return home


def build_day(home: Path, day: dt.date) -> None:
    run = run_strata(home, "build", "--start", day.isoformat(), "--end", (day + dt.timedelta(days=1)).isoformat())
    assert run.returncode == 0, f"{day}: {run.output[-3000:]}"
    duplicates = {model: keys for model, keys in duplicate_keys_by_model(home).items() if keys}
    assert duplicates == {}, f"after the run of {day}: keys held twice: {duplicates}"


def assert_same_merge_models(full: Path, daily: Path) -> None:
    models = merge_models(full)
    assert set(models) >= EXPECTED_MERGE_MODELS, EXPECTED_MERGE_MODELS - set(models)
    problems, _ = warehouse_differences(full, daily, {(schema, name) for name, (schema, _) in models.items()})
    assert problems == [], "\n".join(problems)
    with duckdb.connect(str(full / "warehouse.duckdb"), read_only=True) as connection:
        for name, (schema, _) in models.items():
            if name != "cnf_late_arrivals" and not name.endswith("__rejects"):
                rows = connection.sql(f"select count(*) from {schema}.{name}").fetchall()[0][0]
                assert rows > 0, f"{schema}.{name} is empty: the comparison would prove nothing"


@pytest.mark.xdist_group("incremental-forward")
def test_daily_windows_with_a_day_run_twice_equal_a_full_refresh_and_reruns_change_nothing(generated, tmp_path):
    daily = copy_landing(generated, tmp_path / "daily")
    middle = DAY_LIST[DAYS // 2]
    for day in DAY_LIST[: DAYS // 2 + 1]:
        build_day(daily, day)
    build_day(daily, middle)
    for day in DAY_LIST[DAYS // 2 + 1 :]:
        build_day(daily, day)

    assert_same_merge_models(generated, daily)

    before = table_checksums(daily)
    for day in (DAY_LIST[3], DAY_LIST[-1]):
        build_day(daily, day)
        assert table_checksums(daily) == before, f"re-running {day} changed tables"


@pytest.mark.xdist_group("incremental-backward")
def test_daily_windows_in_reverse_order_equal_a_full_refresh(generated, tmp_path):
    daily = copy_landing(generated, tmp_path / "daily")
    for day in reversed(DAY_LIST):
        build_day(daily, day)

    assert_same_merge_models(generated, daily)


@pytest.mark.xdist_group("incremental-forward")
def test_a_session_across_midnight_and_a_window_boundary_is_one_session(generated, tmp_path):
    daily = copy_landing(generated, tmp_path / "daily")
    sql = """
        select session_id, anonymous_id, session_started_at, session_ended_at, count_events
        from modeled.fct_sessions
        where cast(session_ended_at as date) > session_date
        order by session_id
    """
    with duckdb.connect(str(generated / "warehouse.duckdb"), read_only=True) as connection:
        spanning = connection.sql(sql).fetchall()
    assert spanning, "no session spans midnight in the generated data: the test would prove nothing"
    first_day = min(row[2].date() for row in spanning)
    for day in (first_day, first_day + dt.timedelta(days=1)):
        build_day(daily, day)

    with duckdb.connect(str(daily / "warehouse.duckdb"), read_only=True) as connection:
        built = connection.sql(sql.replace("where", f"where session_date = '{first_day}' and")).fetchall()
        overlapping = connection.sql(
            f"""
            select count(*)
            from modeled.fct_sessions as other
            inner join ({sql}) as spanning
                on other.anonymous_id = spanning.anonymous_id
                and other.session_id != spanning.session_id
                and other.session_started_at <= spanning.session_ended_at
                and other.session_ended_at >= spanning.session_started_at
            """
        ).fetchall()[0][0]
    assert built == [row for row in spanning if row[2].date() == first_day]
    assert overlapping == 0, "part of a session spanning midnight became a session of its own"


def land_events(home, batch_date: dt.date, events: list[dict]) -> None:
    import json

    from orchestration.landing import BatchWriter

    with BatchWriter(home / "landing", "events", batch_date, producer="test") as batch:
        lines = [json.dumps(event) for event in events]
        batch.path_for("events.jsonl").write_text("\n".join(lines) + "\n")


def event(event_id: str, occurred: str, collected: str) -> dict:
    return {
        "event_id": event_id,
        "anonymous_id": "visitor-late",
        "customer_id": None,
        "event_type": "page_view",
        "occurred_at": occurred,
        "collected_at": collected,
        "page_path": "/",
        "sku": None,
        "order_id": None,
    }


@pytest.mark.xdist_group("incremental-backward")
def test_late_events_within_the_lookback_join_their_session_and_later_ones_are_reported(tmp_path):
    from pytests.conftest import query

    generated = run_strata(
        tmp_path,
        "generate",
        "--start",
        "2024-01-01",
        "--days",
        "4",
        "--orders-per-day",
        "50",
        "--no-noise",
        "--no-progress",
    )
    assert generated.returncode == 0, generated.output
    first = run_strata(tmp_path, "build")
    assert first.returncode == 0, first.output[-3000:]
    land_events(tmp_path, dt.date(2024, 1, 7), [event("on-time", "2024-01-07T10:10:00", "2024-01-07T10:10:01")])
    land_events(
        tmp_path,
        dt.date(2024, 1, 9),
        [
            event("late-within-lookback", "2024-01-07T10:00:00", "2024-01-09T08:00:00"),
            event("late-beyond-lookback", "2024-01-04T10:00:00", "2024-01-09T08:00:00"),
        ],
    )

    on_time = run_strata(tmp_path, "build", "--start", "2024-01-07", "--end", "2024-01-08")
    daily = run_strata(tmp_path, "build", "--start", "2024-01-09", "--end", "2024-01-10")

    assert on_time.returncode == 0, on_time.output[-3000:]
    assert daily.returncode == 0, daily.output[-3000:]
    assert "WARN 1 no_late_arrivals_beyond_lookback_in_window" in daily.stdout
    kept = {row[0] for row in query(tmp_path, "select event_id from conformed.cnf_events where event_id like 'late-%'")}
    assert kept == {"late-within-lookback"}
    # The late event opened the visitor's session of that morning: one session, starting with it.
    sessions_sql = """
        select session_date, session_started_at, session_ended_at, count_events
        from modeled.fct_sessions where anonymous_id = 'visitor-late' order by session_started_at
    """
    assert query(tmp_path, sessions_sql) == [
        (dt.date(2024, 1, 7), dt.datetime(2024, 1, 7, 10, 0), dt.datetime(2024, 1, 7, 10, 10), 2)
    ]
    assert query(tmp_path, "select count_sessions from modeled.fct_daily_funnel where session_date = '2024-01-07'") == [
        (1,)
    ]
    assert query(tmp_path, "select entity, record_id, count_days_late from conformed.cnf_late_arrivals") == [
        ("events", "late-beyond-lookback", 5)
    ]

    refreshed = run_strata(tmp_path, "build", "--full-refresh")

    assert refreshed.returncode == 0, refreshed.output[-3000:]
    kept = {row[0] for row in query(tmp_path, "select event_id from conformed.cnf_events where event_id like 'late-%'")}
    assert kept == {"late-within-lookback", "late-beyond-lookback"}
    assert query(tmp_path, "select count(*) from conformed.cnf_late_arrivals") == [(0,)]
    assert query(tmp_path, sessions_sql)[-1] == (
        dt.date(2024, 1, 7),
        dt.datetime(2024, 1, 7, 10, 0),
        dt.datetime(2024, 1, 7, 10, 10),
        2,
    )
    assert len(query(tmp_path, sessions_sql)) == 2, "the event beyond the lookback is a session of its own"
