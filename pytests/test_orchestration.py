"""The Dagster code location: the asset graph, partitions, checks, automation and housekeeping.

Runs are real: dbt builds generated landing data into a DuckDB file in a temporary data home,
in process through Dagster (or through `strata build`, which does the same), and the sensor,
schedule and retention job run against a real Dagster instance in that home.
See docs/orchestration.md.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    build_schedule_context,
    build_sensor_context,
)

from orchestration.settings import PROJECT_DIR
from pytests.conftest import BIN, query, run_strata

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"
LAYER_GROUPS = {"landing", "raw", "conformed", "reference", "modeled"}
START = dt.date(2024, 1, 1)


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Path:
    """A data home with five generated days; STRATA_HOME points at it for in-process runs."""
    monkeypatch.setenv("STRATA_HOME", str(tmp_path))
    monkeypatch.delenv("STRATA_FIRST_PARTITION", raising=False)
    generated = run_strata(tmp_path, "generate", "--start", START.isoformat(), "--days", "5", "--orders-per-day", "60")
    assert generated.returncode == 0, generated.output
    return tmp_path


def load_definitions():
    from orchestration.definitions import build_definitions

    return build_definitions()


def asset_graph_snapshot(defs) -> dict:
    graph = defs.resolve_asset_graph()
    snapshot = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        snapshot[key.to_user_string()] = {
            "group": node.group_name,
            "partitioned": node.is_partitioned,
            "upstream": sorted(parent.to_user_string() for parent in node.parent_keys),
            "kinds": sorted(node.kinds),
            "owners": sorted(node.owners),
            "checks": len(node.check_keys),
        }
    return snapshot


# ---------------------------------------------------------------------------------------------
# The asset graph
# ---------------------------------------------------------------------------------------------


def test_the_asset_graph_matches_its_snapshot(home):
    """Catches accidental renames, regrouping and lost dependencies. After an intended change,
    refresh the snapshot with STRATA_UPDATE_SNAPSHOTS=1 and review its diff."""
    current = asset_graph_snapshot(load_definitions())
    if os.environ.get("STRATA_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_dbt_node_is_an_asset_in_its_layer_group(home):
    from orchestration.manifest import load_manifest

    defs = load_definitions()
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    manifest = load_manifest()
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed", "snapshot"):
            continue
        layer = node["meta"]["layer"]
        key = AssetKey([layer, node["name"]])
        assert key.to_user_string() in keys, f"{node['unique_id']} is not an asset"
        asset = graph.get(key)
        assert asset.group_name == layer
        assert {"dbt", "duckdb"} <= set(asset.kinds)
        assert asset.owners, f"{key.to_user_string()} has no owner"
        dbt_parents = {
            AssetKey([manifest["nodes"][parent]["meta"]["layer"], manifest["nodes"][parent]["name"]])
            for parent in node["depends_on"].get("nodes", [])
            if parent.split(".")[0] in ("model", "seed", "snapshot")
        } | {
            AssetKey(["landing", manifest["sources"][parent]["name"]])
            for parent in node["depends_on"].get("nodes", [])
            if parent.startswith("source.")
        }
        assert set(asset.parent_keys) == dbt_parents, key
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == LAYER_GROUPS
    # Models with tests carry them as checks, e.g. the key of the orders fact.
    checks = {check.name for check in graph.get(AssetKey(["modeled", "fct_orders"])).check_keys}
    assert any(name.startswith("unique_fct_orders_order_id") for name in checks), checks


def test_only_window_independent_nodes_are_unpartitioned(home):
    graph = load_definitions().resolve_asset_graph()
    unpartitioned = {key.to_user_string() for key in graph.get_all_asset_keys() if not graph.get(key).is_partitioned}
    assert unpartitioned == {
        "reference/event_types",
        "reference/order_statuses",
        "reference/product_types",
        "reference/store_regions",
        "reference/ref_calendar",
        "reference/ref_event_types",
        "reference/ref_order_statuses",
    }
    partitions_def = graph.get(AssetKey(["modeled", "fct_orders"])).partitions_def
    assert partitions_def.get_first_partition_key() == START.isoformat()


def test_a_manifest_being_prepared_is_never_read_half_written(tmp_path, monkeypatch):
    """dbt writes manifest.json in place; another process that finds it fresh (a second test
    worker, the UI) must read the old manifest or the whole new one, never a part."""
    from orchestration.dagster_dbt_api import DbtProject
    from orchestration.manifest import parse_project

    # A target path relative to the project, as Strata's own, from another working directory.
    target = tmp_path / "dagster"
    project = DbtProject(
        project_dir=PROJECT_DIR, target_path=os.path.relpath(target, PROJECT_DIR), profiles_dir=PROJECT_DIR
    )
    monkeypatch.chdir(tmp_path)
    failures: list[Exception] = []
    parser = threading.Thread(target=lambda: parse_project(project))
    parser.start()
    reads = 0
    while parser.is_alive():
        if project.manifest_path.exists():
            try:
                json.loads(project.manifest_path.read_bytes())
                reads += 1
            except ValueError as error:
                failures.append(error)
    parser.join()
    assert not failures, failures[:1]
    assert Path(project.manifest_path).resolve() == target / "manifest.json"
    assert json.loads((target / "manifest.json").read_bytes())["nodes"]
    assert not [path.name for path in tmp_path.iterdir() if path.name != "dagster"], "the staging directory is left"


def test_a_dbt_command_starts_without_a_dbt_process_to_ask_the_version(monkeypatch):
    """dagster-dbt runs `dbt --version` before every command, a whole dbt start-up (about 1 s);
    Strata's dbt is the dbt-core installed beside it, whose version the resource reads instead."""
    import dagster_dbt.core.resource  # noqa: TID251 - the module whose check_output is replaced
    from dbt.version import __version__ as installed_dbt

    from orchestration.manifest import strata_dbt_resource

    def no_process(command, *args, **kwargs):
        raise AssertionError(f"started {command}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_process)
    assert str(strata_dbt_resource()._cli_version) == installed_dbt


def test_window_driven_ids_follow_sources_through_parents():
    from orchestration.translator import window_driven_ids

    manifest = {
        "nodes": {
            "seed.p.lookup": {"resource_type": "seed"},
            "model.p.from_seed": {"resource_type": "model"},
            "model.p.raw": {"resource_type": "model"},
            "model.p.joined": {"resource_type": "model"},
            "test.p.t": {"resource_type": "test"},
        },
        "parent_map": {
            "seed.p.lookup": [],
            "model.p.from_seed": ["seed.p.lookup"],
            "model.p.raw": ["source.p.landing.orders"],
            "model.p.joined": ["model.p.from_seed", "model.p.raw"],
            "test.p.t": ["model.p.raw"],
        },
    }
    assert window_driven_ids(manifest) == {"model.p.raw", "model.p.joined"}


def test_a_model_outside_the_layer_folders_is_refused_with_its_name():
    from orchestration.translator import layer_of

    with pytest.raises(ValueError, match="model.p.stray has no meta.layer"):
        layer_of({"resource_type": "model", "unique_id": "model.p.stray", "meta": {}, "config": {}})


def test_partition_keys_are_validated_as_dates_before_they_become_vars():
    from dagster import PartitionKeyRange

    from orchestration.partitions import PartitionError, window_for

    window = window_for(PartitionKeyRange("2024-01-01", "2024-01-03"))
    assert window.dbt_vars() == {"window_start": "2024-01-01", "window_end": "2024-01-04"}
    with pytest.raises(PartitionError, match="'2024-01-01; drop table x' is not a date"):
        window_for(PartitionKeyRange("2024-01-01; drop table x", "2024-01-02"))
    with pytest.raises(PartitionError, match="reversed"):
        window_for(PartitionKeyRange("2024-01-03", "2024-01-01"))


# ---------------------------------------------------------------------------------------------
# Materializing partitions in process
# ---------------------------------------------------------------------------------------------


def materialized_partitions(instance: DagsterInstance, key: AssetKey) -> set[str]:
    records = instance.fetch_materializations(key, limit=1000).records
    return {record.partition_key for record in records if record.partition_key}


def check_evaluations(instance: DagsterInstance) -> list:
    """Every asset check evaluation of every run, oldest run first."""
    return [
        entry.dagster_event.event_specific_data
        for run in reversed(instance.get_run_records())
        for entry in instance.all_logs(run.dagster_run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    ]


def test_three_daily_partitions_materialize_in_one_dbt_invocation_with_the_window_vars(home):
    from orchestration.build import build
    from orchestration.dagster_home import instance_for
    from orchestration.dbt_invoke import Window
    from orchestration.regression_checks import CHECK_NAME

    report = build(home, Window(START, START + dt.timedelta(days=3)))

    assert report.success, report.errors
    run_results = json.loads((home / "target" / "run_results.json").read_text())
    assert run_results["args"]["vars"] == {"window_start": "2024-01-01", "window_end": "2024-01-04"}
    assert run_results["args"]["which"] == "build"
    loaded = {row[0] for row in query(home, "select distinct _batch_date from raw.raw_orders")}
    assert loaded == {START + dt.timedelta(days=n) for n in range(3)}
    instance = instance_for(home)
    expected = {(START + dt.timedelta(days=n)).isoformat() for n in range(3)}
    for key in (["landing", "orders"], ["raw", "raw_orders"], ["conformed", "cnf_orders"], ["modeled", "fct_orders"]):
        assert materialized_partitions(instance, AssetKey(key)) == expected, key
    # One run, and within it one dbt build for the window (the static lookups had their own step).
    [run] = instance.get_run_records()
    assert run.dagster_run.status == DagsterRunStatus.SUCCESS
    checks = instance.fetch_run_status_changes(DagsterEventType.RUN_SUCCESS, limit=5).records
    assert len(checks) == 1
    evaluations = check_evaluations(instance)
    assert evaluations and all(evaluation.passed for evaluation in evaluations)
    # The build-history check of a daily model and of a static lookup, each judging this run's
    # materialization.
    regression_targets = {
        evaluation.asset_key.to_user_string(): evaluation.target_materialization_data.run_id
        for evaluation in evaluations
        if evaluation.check_name == CHECK_NAME
    }
    run_id = run.dagster_run.run_id
    assert regression_targets["modeled/fct_orders"] == regression_targets["reference/ref_calendar"] == run_id


def make_raw_orders_test_fail(home: Path, day: dt.date) -> None:
    """Append one well-formed order to a landed file and re-seal its manifest with the new size and
    checksum but the old row count: the file is sound, and raw's matches_landing_manifest test
    (error severity) fails on it."""
    from orchestration.landing import file_stats

    batch = home / "landing" / "orders" / day.isoformat()
    data_file = batch / "orders.csv"
    last = data_file.read_text().splitlines()[-1].split(",")
    last[0] = "00000000-0000-0000-0000-00000000beef"
    with data_file.open("a") as handle:
        handle.write(",".join(last) + "\n")
    manifest_path = batch / "_manifest.json"
    manifest = json.loads(manifest_path.read_text())
    stats = file_stats(data_file, 1)
    manifest["files"][0].update(bytes=stats.bytes, sha256=stats.sha256)
    manifest_path.write_text(json.dumps(manifest))


def test_a_failing_blocking_check_in_raw_stops_the_downstream_layers(home):
    from orchestration.build import build
    from orchestration.dagster_home import instance_for
    from orchestration.dbt_invoke import Window

    make_raw_orders_test_fail(home, START)

    report = build(home, Window(START, START + dt.timedelta(days=1)))

    assert not report.success
    instance = instance_for(home)
    evaluations = check_evaluations(instance)
    failed = {(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed}
    assert any(key == "raw/raw_orders" and name.startswith("matches_landing_manifest") for key, name in failed)
    assert all(e.passed or e.severity.value == "ERROR" for e in evaluations)
    # Other raw tables loaded; nothing downstream of raw_orders was built.
    assert materialized_partitions(instance, AssetKey(["raw", "raw_customers"])) == {START.isoformat()}
    for key in (["conformed", "cnf_orders"], ["modeled", "fct_orders"], ["modeled", "fct_daily_store_sales"]):
        assert materialized_partitions(instance, AssetKey(key)) == set(), key
    tables = {row[0] for row in query(home, "select table_name from duckdb_tables()")}
    assert "raw_orders" in tables and "fct_orders" not in tables


# ---------------------------------------------------------------------------------------------
# Automation
# ---------------------------------------------------------------------------------------------


def test_the_sensor_requests_a_run_for_a_new_batch_and_none_for_an_old_one(home):
    from orchestration.dagster_home import instance_for

    defs = load_definitions()
    sensor = defs.resolve_sensor_def("strata_landing_sensor")
    instance = instance_for(home)

    with build_sensor_context(instance=instance, definitions=defs) as context:
        first = sensor(context)
    assert sorted(request.partition_key for request in first.run_requests) == [
        (START + dt.timedelta(days=n)).isoformat() for n in range(5)
    ]

    with build_sensor_context(instance=instance, cursor=first.cursor, definitions=defs) as context:
        again = sensor(context)
    assert again.run_requests == []

    time.sleep(0.01)  # a new manifest must be newer than the cursor even on a coarse clock
    landed = run_strata(
        home,
        "generate",
        "--start",
        "2024-01-06",
        "--days",
        "1",
        "--world-start",
        START.isoformat(),
        "--orders-per-day",
        "60",
    )
    assert landed.returncode == 0, landed.output
    with build_sensor_context(instance=instance, cursor=again.cursor, definitions=defs) as context:
        new = sensor(context)
    assert [request.partition_key for request in new.run_requests] == ["2024-01-06"]
    assert new.run_requests[0].job_name in (None, "strata_daily")


def test_the_daily_schedule_builds_yesterday(home):
    defs = load_definitions()
    schedule = defs.resolve_schedule_def("strata_daily_schedule")
    context = build_schedule_context(
        scheduled_execution_time=dt.datetime(2024, 1, 4, 2, 0, tzinfo=dt.UTC), repository_def=defs.get_repository_def()
    )
    [request] = schedule.evaluate_tick(context).run_requests
    assert request.partition_key == "2024-01-03"


def test_runs_that_write_the_warehouse_queue_and_dbt_steps_share_one_pool(home):
    import yaml

    defs = load_definitions()
    for name in ("strata_daily", "strata_reference"):
        assert defs.resolve_job_def(name).tags.get("strata/writes-warehouse") == "true"
    graph = defs.resolve_asset_graph()
    assert graph.get(AssetKey(["modeled", "fct_orders"])).pools == {"strata_warehouse"}
    instance_config = yaml.safe_load((PROJECT_DIR / "dagster.yaml").read_text())
    limits = instance_config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": "strata/writes-warehouse", "limit": 1} in limits
    # No pool limit locally: a SIGKILLed build would hold its slot forever (the file lock does not).
    assert "pools" not in instance_config["concurrency"]


def test_two_overlapping_builds_both_succeed_one_after_the_other(home):
    """Two `strata build` processes started together on one home: both succeed, and their dbt
    work does not overlap (the file lock makes the second wait) instead of one failing on
    DuckDB's file lock."""
    from orchestration.dagster_home import instance_for

    environment = {**os.environ, "STRATA_HOME": str(home)}
    processes = [
        subprocess.Popen(
            [str(BIN / "strata"), "build", "--start", day, "--end", end],
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for day, end in (("2024-01-01", "2024-01-03"), ("2024-01-03", "2024-01-04"))
    ]
    outputs = [process.communicate(timeout=900)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output[-3000:]

    instance = instance_for(home)
    spans = []
    for record in instance.get_run_records():
        written = [
            entry.timestamp
            for entry in instance.all_logs(record.dagster_run.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)
            if entry.dagster_event.asset_key.path[0] in ("raw", "conformed", "modeled")
        ]
        spans.append((min(written), max(written)))
    assert len(spans) == 2
    (_, first_end), (second_start, _) = sorted(spans)
    assert first_end < second_start, f"the two runs wrote the warehouse at the same time: {spans}"
    loaded = {row[0] for row in query(home, "select distinct _batch_date from raw.raw_orders")}
    assert loaded == {START + dt.timedelta(days=n) for n in range(3)}


def hold_lock(home: str, held: object, release: object) -> None:
    from orchestration.warehouse_lock import warehouse_lock

    with warehouse_lock(Path(home)):
        held.set()
        release.wait(30)


def test_the_warehouse_lock_makes_a_second_writer_wait(tmp_path):
    """The lock behind every dbt step, for writers outside Dagster's queue (a terminal, a test)."""
    import multiprocessing

    from orchestration.warehouse_lock import warehouse_lock

    context = multiprocessing.get_context("spawn")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=hold_lock, args=(str(tmp_path), held, release))
    holder.start()
    assert held.wait(60)
    messages = []
    threading.Timer(1.0, release.set).start()
    with warehouse_lock(tmp_path, on_wait=messages.append) as waited:
        assert release.is_set(), "got the lock while the other process still held it"
    holder.join(30)
    assert messages and "waiting for it to finish" in messages[0]
    assert waited >= 0.5


def test_processes_opening_a_fresh_home_together_all_get_its_instance(tmp_path):
    """Two builds started together on a new home both created Dagster's SQLite storage, and one
    failed on alembic's version table; storage creation is serialized."""
    opener = (
        "import sys; from pathlib import Path; from orchestration.dagster_home import instance_for; "
        "instance_for(Path(sys.argv[1])).get_runs_count()"
    )
    processes = [
        subprocess.Popen([sys.executable, "-c", opener, str(tmp_path)], stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    errors = [process.communicate(timeout=300)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0], "\n".join(errors)[-3000:]


RANGE_PARTITIONS = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"]


def range_run_of_three_tables(home: Path):
    """One run materializing three daily-partitioned assets, each with an asset check, over
    RANGE_PARTITIONS, on the home's instance; (instance, run id, asset keys)."""
    import dagster as dg

    from orchestration.dagster_home import instance_for

    days = dg.DailyPartitionsDefinition(start_date="2024-01-01", end_date="2024-01-10")
    keys = [dg.AssetKey(["modeled", f"table_{n}"]) for n in range(3)]

    @dg.multi_asset(
        specs=[dg.AssetSpec(key, partitions_def=days) for key in keys],
        check_specs=[dg.AssetCheckSpec("rows_positive", asset=key) for key in keys],
        partitions_def=days,
    )
    def tables():
        for n, key in enumerate(keys):
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={"dagster/row_count": 100 + n},
                check_results=[dg.AssetCheckResult(asset_key=key, check_name="rows_positive", passed=n != 1)],
            )

    instance = instance_for(home)
    tags = {"dagster/asset_partition_range_start": RANGE_PARTITIONS[0]}
    tags["dagster/asset_partition_range_end"] = RANGE_PARTITIONS[-1]
    result = dg.materialize([tables], instance=instance, tags=tags)
    assert result.success
    return instance, result.run_id, keys


def stored_asset_events(instance: DagsterInstance, run_id: str, keys) -> dict:
    """What the storage answers about a run's asset and check events, in a form two runs can be compared by."""
    from collections import Counter

    from dagster import AssetCheckKey
    from dagster._core.definitions.data_version import DATA_VERSION_TAG

    materialization = DagsterEventType.ASSET_MATERIALIZATION
    answers: dict = {
        "run's events by type": Counter(
            record.event_log_entry.dagster_event_type
            for record in instance.get_records_for_run(run_id, limit=10_000).records
            if record.event_log_entry.is_dagster_event
        )
    }
    for key in keys:
        answers[key.to_user_string()] = (
            sorted(instance.get_materialized_partitions(key)),
            sorted(
                (record.partition_key, record.asset_materialization.metadata["dagster/row_count"].value)
                for record in instance.fetch_materializations(key, limit=100).records
            ),
            instance.get_latest_materialization_event(key).asset_materialization.partition,
            sorted(instance.event_log_storage.get_latest_tags_by_partition(key, materialization, [DATA_VERSION_TAG])),
            instance.get_asset_records([key])[0].asset_entry.last_run_id == run_id,
            sorted(
                (str(execution.status), execution.partition, execution.run_id == run_id)
                for execution in instance.event_log_storage.get_asset_check_execution_history(
                    AssetCheckKey(key, "rows_positive"), limit=100
                )
            ),
        )
    return answers


def test_a_range_run_stores_the_same_events_in_batches_as_one_at_a_time(tmp_path, monkeypatch):
    """The batched SQLite write (orchestration/sqlite_event_batches.py) against Dagster's own
    event-by-event path, on the same range run: the run's events, every partition's
    materialization, their metadata and data-version tags, the asset records and the asset check
    executions are the same."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from orchestration.dagster_home import tune_local_storage

    tune_local_storage()
    store_event_batch = SqliteEventLogStorage.store_event_batch
    batch_sizes: list[int] = []
    commits_by_batch: list[int] = []
    in_batch = [False]

    def counting_batches(storage, events):
        batch_sizes.append(len(events))
        commits_by_batch.append(0)
        in_batch[0] = True
        try:
            return store_event_batch(storage, events)
        finally:
            in_batch[0] = False

    def count_commit(_connection) -> None:
        if in_batch[0]:
            commits_by_batch[-1] += 1

    monkeypatch.setattr(SqliteEventLogStorage, "store_event_batch", counting_batches)
    event.listen(Engine, "commit", count_commit)
    stored = {}
    try:
        for batch_size in ("0", "1000"):
            monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", batch_size)
            instance, run_id, keys = range_run_of_three_tables(tmp_path / f"batch_{batch_size}")
            stored[batch_size] = stored_asset_events(instance, run_id, keys)
    finally:
        event.remove(Engine, "commit", count_commit)
    assert batch_sizes.count(len(RANGE_PARTITIONS)) == len(keys), batch_sizes  # one batch per asset
    # The run's planned events (3 assets, 3 checks) are a batch too, and it holds check events.
    assert 2 * len(keys) in batch_sizes, batch_sizes
    assert stored["1000"] == stored["0"]
    # Dagster's own batch write commits two or three times per event; this one once per database
    # (the first batch also creates the run's database, which commits on its own).
    assert commits_by_batch[1:] == [2] * (len(batch_sizes) - 1), (commits_by_batch, batch_sizes)
    table = stored["1000"]["modeled/table_2"]
    assert table[0] == RANGE_PARTITIONS
    assert table[1] == [(partition, 102) for partition in RANGE_PARTITIONS]
    assert table[3] == RANGE_PARTITIONS  # every partition's materialization has its data version tag
    assert stored["1000"]["run's events by type"][DagsterEventType.ASSET_MATERIALIZATION] == 15
    assert stored["1000"]["run's events by type"][DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED] == 3
    assert any("FAILED" in status for status, *_ in stored["1000"]["modeled/table_1"][5])


def test_a_planned_check_of_a_range_stores_the_rows_dagster_stores(tmp_path):
    """Strata's write of a planned check (one serialization per event, not per partition) against
    Dagster's own, on a real range run's planned event: the same asset_check_executions rows."""
    import sqlalchemy as sa
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable
    from dagster._core.storage.event_log.sql_event_log import SqlEventLogStorage

    from orchestration.dagster_home import instance_for

    instance, run_id, _ = range_run_of_three_tables(tmp_path / "run")
    planned = [
        record
        for record in instance.get_records_for_run(run_id, limit=10_000).records
        if record.event_log_entry.dagster_event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED
    ]
    assert len(planned) == 3
    rows = {}
    for writer in ("dagster", "strata"):
        storage = instance_for(tmp_path / writer).event_log_storage
        for record in planned:
            if writer == "dagster":
                SqlEventLogStorage._store_asset_check_evaluation_planned(
                    storage, record.event_log_entry, record.storage_id
                )
            else:
                storage._store_asset_check_evaluation_planned(record.event_log_entry, record.storage_id)
        with storage.index_connection() as connection:
            table = connection.execute(sa.select(AssetCheckExecutionsTable).order_by("id")).mappings().all()
        # The row id and the database's own insert time differ by construction.
        rows[writer] = [
            {name: value for name, value in row.items() if name not in ("id", "create_timestamp")} for row in table
        ]
    assert rows["strata"] == rows["dagster"]
    assert len(rows["strata"]) == 3 * len(RANGE_PARTITIONS)
    assert sorted({row["partition"] for row in rows["strata"]}) == RANGE_PARTITIONS


def test_a_batch_that_fails_halfway_leaves_no_event_twice(tmp_path, monkeypatch):
    """Dagster stores a failed batch again one event at a time; the batch's transactions are rolled
    back first, so no event of it stays behind twice."""
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

    from orchestration.dagster_home import tune_local_storage

    tune_local_storage()
    store_asset_event = SqliteEventLogStorage._store_asset_event
    failures = [0]

    def failing_once(storage, connection, event, event_id):
        # The third partition's event: two events of the batch are already written when it fails.
        if (
            event.dagster_event_type == DagsterEventType.ASSET_MATERIALIZATION
            and event.dagster_event.partition == (RANGE_PARTITIONS[2])
            and not failures[0]
        ):
            failures[0] += 1
            raise RuntimeError("database is locked")
        return store_asset_event(storage, connection, event, event_id)

    monkeypatch.setattr(SqliteEventLogStorage, "_store_asset_event", failing_once)
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "1000")
    instance, run_id, keys = range_run_of_three_tables(tmp_path)
    stored = stored_asset_events(instance, run_id, keys)

    assert failures[0] == 1
    assert stored["run's events by type"][DagsterEventType.ASSET_MATERIALIZATION] == 15
    for key in keys:
        assert stored[key.to_user_string()][0] == RANGE_PARTITIONS
        assert len(stored[key.to_user_string()][1]) == len(RANGE_PARTITIONS)
    with instance.event_log_storage.index_connection() as connection:
        indexed = connection.exec_driver_sql(
            "select count(*) from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION'"
        ).scalar()
    assert indexed == 15


def test_the_event_storage_asks_sqlite_once_whether_a_table_exists_until_it_is_wiped(tmp_path, monkeypatch):
    """Dagster asks has_table before every stored asset and check event, each time through a new
    engine; the answer "yes" is kept until Dagster forgets the index database, "no" never is."""
    from collections import Counter

    import orchestration.sqlite_event_batches as batches
    from orchestration.dagster_home import tune_local_storage

    tune_local_storage()
    asked: list[str] = []
    dagster_has_table = batches._dagster_has_table

    def counting(storage, table_name):
        asked.append(table_name)
        return dagster_has_table(storage, table_name)

    monkeypatch.setattr(batches, "_dagster_has_table", counting)
    # Events one at a time: the path that asked before each of them.
    monkeypatch.setenv("DAGSTER_EVENT_BATCH_SIZE", "0")
    instance, _, _ = range_run_of_three_tables(tmp_path)
    by_table = Counter(asked)
    assert by_table and max(by_table.values()) == 1, by_table

    storage = instance.event_log_storage
    asked.clear()
    assert storage.has_table("asset_check_executions") and storage.has_table("asset_check_executions")
    assert not storage.has_table("no_such_table") and not storage.has_table("no_such_table")
    assert asked == ["no_such_table", "no_such_table"]

    asked.clear()
    storage.wipe()  # asks on its own, about the tables whose rows it deletes
    assert storage.has_table("asset_check_executions")
    assert asked.count("asset_check_executions") == 1, f"a wiped index database is asked again, once: {asked}"


# ---------------------------------------------------------------------------------------------
# Housekeeping
# ---------------------------------------------------------------------------------------------


def age_run(instance: DagsterInstance, run_id: str, days: int) -> None:
    """Backdate a run in the run storage, as if it had been created `days` ago."""
    from dagster._core.storage.runs.schema import RunsTable

    created = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=days)
    with instance.run_storage.connect() as connection:
        connection.execute(RunsTable.update().where(RunsTable.c.run_id == run_id).values(create_timestamp=created))


def test_the_retention_job_deletes_old_runs_and_their_logs_and_keeps_recent_ones(home):
    from dagster._core.test_utils import create_run_for_test

    from orchestration.dagster_home import instance_for

    instance = instance_for(home)
    old = [create_run_for_test(instance, job_name="old_job", status=DagsterRunStatus.SUCCESS) for _ in range(3)]
    recent = create_run_for_test(instance, job_name="recent_job", status=DagsterRunStatus.FAILURE)
    still_running = create_run_for_test(instance, job_name="long_job", status=DagsterRunStatus.STARTED)
    for run in old:
        age_run(instance, run.run_id, days=45)
    age_run(instance, still_running.run_id, days=45)
    age_run(instance, recent.run_id, days=5)

    defs = load_definitions()
    result = defs.resolve_job_def("strata_run_retention").execute_in_process(instance=instance)

    assert result.success
    assert result.output_for_node("delete_old_runs") == 3
    remaining = {record.dagster_run.run_id for record in instance.get_run_records()}
    assert not remaining & {run.run_id for run in old}
    assert {recent.run_id, still_running.run_id, result.run_id} <= remaining
    assert all(instance.all_logs(run.run_id) == [] for run in old)


# ---------------------------------------------------------------------------------------------
# The web UI
# ---------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_web_ui_lists_the_four_layers_through_graphql(home):
    port = free_port()
    ui = subprocess.Popen(
        [str(BIN / "strata"), "ui", "--port", str(port)],
        env={**os.environ, "STRATA_HOME": str(home)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        # dagster dev stops on SIGINT (it maps SIGTERM onto the SIGINT handler, which a process
        # started from a background job inherits as ignored): give it the default back.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        query_body = json.dumps({"query": "{ assetNodes { assetKey { path } groupName isPartitioned } }"}).encode()
        deadline = time.monotonic() + 180
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql", data=query_body, headers={"Content-Type": "application/json"}
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    nodes = json.loads(response.read())["data"]["assetNodes"]
                break
            except (OSError, KeyError, TypeError):
                assert ui.poll() is None, ui.stdout.read().decode(errors="replace")[-3000:]
                assert time.monotonic() < deadline, "the Dagster UI did not answer in 180 s"
                time.sleep(1)
    finally:
        os.killpg(ui.pid, signal.SIGINT)
        try:
            ui.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(ui.pid, signal.SIGKILL)
    groups = {node["groupName"] for node in nodes}
    assert {"raw", "conformed", "reference", "modeled"} <= groups
    keys = {"/".join(node["assetKey"]["path"]) for node in nodes}
    assert {"landing/orders", "raw/raw_orders", "conformed/cnf_orders", "modeled/fct_orders"} <= keys
    assert (home / "dagster" / "dagster.yaml").exists(), "the UI's instance lives in the data home"
