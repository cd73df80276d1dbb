"""Observability: dbt artifacts parsed into records, the SQLite history, regression flags, `strata report`.

One small real build (two landed days, the raw layer, a window so dbt gets window vars) is made
once for the module. Other run_results files are that build's, edited: counts added to
adapter_response, statuses and schema versions changed, as later dbt versions or the count hook
would write them. The flags are pure functions and are tested on synthetic histories.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json
import shutil
import sqlite3
import uuid
from dataclasses import replace
from pathlib import Path

import matplotlib.image
import pytest
from click.testing import CliRunner

from orchestration.cli import main
from orchestration.observability.artifacts import ArtifactError, InvocationRecord, NodeResult, parse_target_dir
from orchestration.observability.flags import (
    ROWS_OUTLIER,
    RUNTIME,
    ZERO_ROWS,
    ModelRun,
    flags_for_invocation,
    rows_inserted_outlier,
    runtime_regression,
    zero_rows_inserted,
)
from orchestration.observability.report import critical_path, peak_concurrency, timeline
from orchestration.observability.store import (
    StoreError,
    connect,
    invocation_count,
    load_history,
    record_invocation,
    save_invocation,
)
from pytests.conftest import Run, run_strata

pytestmark = pytest.mark.xdist_group("observability")

RAW_MODELS = ("raw_customers", "raw_events", "raw_items", "raw_orders", "raw_products", "raw_stores", "raw_supplies")
V5 = "https://schemas.getdbt.com/dbt/run-results/v5.json"
STATUSES = ("success", "error", "skipped", "pass", "fail", "warn", "runtime error", "no-op", "partial success")
NOW = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The data home of a real build of the raw layer over the window [2024-01-01, 2024-01-03)."""
    home = tmp_path_factory.mktemp("observed")
    generated = run_strata(home, "generate", "--start", "2024-01-01", "--days", "2", "--orders-per-day", "30")
    assert generated.returncode == 0, generated.output
    build = run_strata(home, "build", "--select", "raw", "--start", "2024-01-01", "--end", "2024-01-03")
    assert build.returncode == 0, build.output[-3000:]
    return home


@pytest.fixture
def real_run_results(built) -> dict:
    return json.loads((built / "target" / "run_results.json").read_text())


def strata_report(home: Path, *args: str) -> Run:
    """`strata report` in this process: the command is what is under test, and a subprocess would
    spend seconds importing matplotlib again for each call."""
    result = CliRunner().invoke(main, ["report", *args], env={"STRATA_HOME": str(home)})
    return Run(result.exit_code, result.stdout, result.stderr)


def write_target(directory: Path, built: Path, run_results: dict) -> Path:
    """A target directory holding an edited run_results.json next to the real build's manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "run_results.json").write_text(json.dumps(run_results))
    shutil.copy(built / "target" / "manifest.json", directory / "manifest.json")
    return directory


def result_of(run_results: dict, name: str) -> dict:
    return next(item for item in run_results["results"] if item["unique_id"] == f"model.strata.{name}")


def node(record: InvocationRecord, name: str) -> NodeResult:
    return next(item for item in record.nodes if item.name == name)


def with_counts(run_results: dict, invocation_id: str, started_at: dt.datetime, counts: dict[str, dict]) -> dict:
    """A copy of run_results as another invocation at started_at, with count keys added per model."""
    edited = copy.deepcopy(run_results)
    edited["metadata"]["invocation_id"] = invocation_id
    edited["metadata"]["invocation_started_at"] = started_at.isoformat().replace("+00:00", "Z")
    for name, keys in counts.items():
        result_of(edited, name)["adapter_response"].update(keys)
    return edited


# --- parser ----------------------------------------------------------------------------------


def test_a_real_build_parses_into_the_invocation_and_its_node_results(built, real_run_results):
    record = parse_target_dir(built / "target")

    assert record.invocation_id == real_run_results["metadata"]["invocation_id"]
    assert record.command == "build"
    assert record.dbt_version.startswith("1.11.")
    assert record.schema_version.endswith("/run-results/v6.json")
    assert (record.window_start, record.window_end) == ("2024-01-01", "2024-01-03")
    assert record.partition == "2024-01-01..2024-01-03"
    assert record.full_refresh is False
    assert record.elapsed_time == pytest.approx(real_run_results["elapsed_time"])
    models = {item.name: item for item in record.nodes if item.resource_type == "model"}
    assert sorted(models) == list(RAW_MODELS)
    for name, model in models.items():
        assert (model.materialization, model.layer, model.status) == ("incremental", "raw", "success")
        assert model.execute_started_at <= model.execute_completed_at
        assert model.compile_started_at <= model.execute_started_at
        response = result_of(real_run_results, name)["adapter_response"]
        # Whether or not the count hook has landed, a count is the response's value or unknown.
        for key in ("rows_affected", "rows_inserted", "rows_updated", "rows_deleted", "rows_total"):
            value = response.get(key)
            assert getattr(model, key) == (value if isinstance(value, int) and value >= 0 else None)
    tests = [item for item in record.nodes if item.resource_type == "test"]
    assert tests and all(item.status == "pass" and item.failures == 0 for item in tests)
    # A test takes the layer of the model it tests, not dbt's audit schema.
    assert {item.layer for item in tests} == {"raw"}
    assert all(item.rows_inserted is None for item in tests)


def test_counts_come_from_adapter_response_and_unknown_ones_stay_none(built, real_run_results, tmp_path):
    edited = copy.deepcopy(real_run_results)
    result_of(edited, "raw_orders")["adapter_response"] = {
        "_message": "OK",
        "rows_affected": 30,
        "rows_inserted": 20,
        "rows_updated": 10,
        "rows_deleted": 0,
        "rows_total": 90,
    }
    result_of(edited, "raw_items")["adapter_response"] = {"_message": "OK", "rows_affected": -1, "rows_inserted": None}
    result_of(edited, "raw_stores")["adapter_response"] = {"_message": "OK", "rows_inserted": True, "rows_total": "7"}

    record = parse_target_dir(write_target(tmp_path / "target", built, edited))

    orders = node(record, "raw_orders")
    assert (
        orders.rows_affected,
        orders.rows_inserted,
        orders.rows_updated,
        orders.rows_deleted,
        orders.rows_total,
    ) == (
        30,
        20,
        10,
        0,
        90,
    )
    for name in ("raw_items", "raw_stores"):
        model = node(record, name)
        assert (model.rows_affected, model.rows_inserted, model.rows_total) == (None, None, None)


@pytest.mark.parametrize("status", STATUSES)
def test_every_result_status_is_accepted(built, real_run_results, tmp_path, status):
    edited = copy.deepcopy(real_run_results)
    result_of(edited, "raw_orders")["status"] = status
    result_of(edited, "raw_orders")["message"] = f"edited to {status}"

    orders = node(parse_target_dir(write_target(tmp_path / "target", built, edited)), "raw_orders")

    assert (orders.status, orders.message) == (status, f"edited to {status}")


def test_run_results_v5_is_read_and_dated_by_its_first_node(built, real_run_results, tmp_path):
    edited = copy.deepcopy(real_run_results)
    edited["metadata"]["dbt_schema_version"] = V5
    edited["metadata"]["dbt_version"] = "1.7.19"
    # v5 has neither the invocation's start nor batch results; both arrived with v6.
    del edited["metadata"]["invocation_started_at"]
    for result in edited["results"]:
        result.pop("batch_results", None)

    record = parse_target_dir(write_target(tmp_path / "target", built, edited))

    assert record.schema_version == V5
    first_start = min(
        dt.datetime.fromisoformat(item["started_at"]) for result in edited["results"] for item in result["timing"]
    )
    assert record.started_at == first_start
    assert len(record.nodes) == len(edited["results"])


def test_a_v5_file_with_a_status_v5_did_not_have_is_refused(built, real_run_results, tmp_path):
    # "no-op" did not exist in v5; a v5 file carrying it is not a file dbt wrote, and says so.
    edited = copy.deepcopy(real_run_results)
    edited["metadata"]["dbt_schema_version"] = V5
    del edited["metadata"]["invocation_started_at"]
    result_of(edited, "raw_orders")["status"] = "no-op"
    target = write_target(tmp_path / "target", built, edited)

    with pytest.raises(ArtifactError, match="run_results.json: does not match the run-results schema"):
        parse_target_dir(target)


def test_a_later_schema_version_is_read_as_the_latest_and_an_older_one_is_refused(built, real_run_results, tmp_path):
    later = copy.deepcopy(real_run_results)
    later["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/run-results/v9.json"
    record = parse_target_dir(write_target(tmp_path / "later", built, later))
    assert record.nodes == parse_target_dir(write_target(tmp_path / "real", built, real_run_results)).nodes

    older = copy.deepcopy(real_run_results)
    older["metadata"]["dbt_schema_version"] = "https://schemas.getdbt.com/dbt/run-results/v4.json"
    with pytest.raises(ArtifactError, match=r"run_results.json: unsupported run-results schema .*v4.json: .*v5, v6"):
        parse_target_dir(write_target(tmp_path / "older", built, older))


def test_a_field_added_by_a_later_dbt_is_ignored(built, real_run_results, tmp_path):
    edited = copy.deepcopy(real_run_results)
    edited["metadata"]["a_field_from_dbt_1_12"] = "x"
    result_of(edited, "raw_orders")["another_new_field"] = {"nested": 1}

    record = parse_target_dir(write_target(tmp_path / "target", built, edited))

    assert node(record, "raw_orders").status == "success"


def test_a_node_field_added_by_a_later_dbt_is_ignored_in_the_manifest_too(built, real_run_results, tmp_path):
    """Manifest nodes are a union (seed, model, test, ...): the unknown field must be dropped from
    the node's own schema, not make every member fail and lose the invocation."""
    target = write_target(tmp_path / "target", built, real_run_results)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["metadata"]["a_field_from_dbt_1_12"] = "x"
    for item in manifest["nodes"].values():
        item["a_node_field_from_dbt_1_12"] = 1
    (target / "manifest.json").write_text(json.dumps(manifest))

    record = parse_target_dir(target)

    assert record.nodes == parse_target_dir(write_target(tmp_path / "real", built, real_run_results)).nodes
    # A node that fits no schema still fails, with a message of a few lines, not pydantic's thousands.
    first = next(iter(manifest["nodes"].values()))
    first["resource_type"] = "not_a_resource_type"
    (target / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="does not match the manifest schema") as raised:
        parse_target_dir(target)
    assert len(str(raised.value)) < 2000


@pytest.mark.parametrize(
    "damage",
    ["missing", "truncated", "manifest_as_run_results", "run_results_as_manifest", "not_an_object", "no_metadata"],
)
def test_a_missing_truncated_or_foreign_file_raises_an_error_naming_it(built, tmp_path, damage):
    target = tmp_path / "target"
    target.mkdir()
    real_results = (built / "target" / "run_results.json").read_text()
    real_manifest = (built / "target" / "manifest.json").read_text()
    results, manifest = target / "run_results.json", target / "manifest.json"
    results.write_text(real_results)
    manifest.write_text(real_manifest)
    culprit = results
    if damage == "missing":
        results.unlink()
    elif damage == "truncated":
        results.write_text(real_results[: len(real_results) // 2])
    elif damage == "manifest_as_run_results":
        results.write_text(real_manifest)
    elif damage == "run_results_as_manifest":
        manifest.write_text(real_results)
        culprit = manifest
    elif damage == "not_an_object":
        results.write_text("[1, 2]")
    else:
        results.write_text('{"results": []}')

    with pytest.raises(ArtifactError) as raised:
        parse_target_dir(target)

    assert raised.value.path == culprit
    assert str(raised.value).startswith(f"{culprit}: ")


# --- store -----------------------------------------------------------------------------------


def test_recording_the_same_invocation_twice_adds_nothing(built, tmp_path):
    store = tmp_path / "observability.sqlite"
    first = record_invocation(built / "target", store)
    record_invocation(built / "target", store)

    with connect(store) as connection:
        rows = connection.execute("select count(*) from node_results").fetchone()[0]
        mode = connection.execute("pragma journal_mode").fetchone()[0]
    assert invocation_count(store) == 1
    assert rows == len(first.nodes)
    assert mode == "wal"
    assert load_history(store) == [first]


def test_a_rerecorded_invocation_replaces_its_rows(built, real_run_results, tmp_path):
    store = tmp_path / "observability.sqlite"
    record_invocation(built / "target", store)
    edited = copy.deepcopy(real_run_results)
    result_of(edited, "raw_orders")["status"] = "error"
    result_of(edited, "raw_orders")["adapter_response"]["rows_inserted"] = 12

    record_invocation(write_target(tmp_path / "target", built, edited), store)

    [stored] = load_history(store)
    assert (node(stored, "raw_orders").status, node(stored, "raw_orders").rows_inserted) == ("error", 12)


def test_the_store_is_readable_while_a_writer_holds_a_transaction(built, tmp_path):
    store = tmp_path / "observability.sqlite"
    record_invocation(built / "target", store)
    writer = sqlite3.connect(store)
    try:
        writer.execute("begin immediate")
        writer.execute("delete from node_results")
        assert len(load_history(store)[0].nodes) > 0
    finally:
        writer.rollback()
        writer.close()


def synthetic(invocation_id: str, started_at: dt.datetime, nodes: tuple[NodeResult, ...] = (), full_refresh=False):
    return InvocationRecord(
        invocation_id=invocation_id,
        command="build",
        invocation_command="dbt build",
        target=None,
        dbt_version="1.11.0",
        schema_version="https://schemas.getdbt.com/dbt/run-results/v6.json",
        started_at=started_at,
        generated_at=started_at,
        elapsed_time=1.0,
        full_refresh=full_refresh,
        window_start=None,
        window_end=None,
        nodes=nodes,
    )


@pytest.mark.parametrize(
    ("invocations", "spacing", "remaining"),
    [
        # 250 daily builds (+ the latest): those beyond the last 200 are also older than 90 days.
        (250, dt.timedelta(days=1), 200),
        # 150 daily builds: 60 are older than 90 days but all are within the last 200.
        (150, dt.timedelta(days=1), 151),
        # 300 builds in 25 days: beyond the last 200, but none older than 90 days.
        (300, dt.timedelta(hours=2), 301),
        # 400 builds two days apart: only 45 are younger than 90 days, and the last 200 stay.
        (400, dt.timedelta(days=2), 200),
    ],
)
def test_pruning_deletes_only_what_is_older_than_90_days_and_outside_the_last_200(
    tmp_path, invocations, spacing, remaining
):
    store = tmp_path / "observability.sqlite"
    for index in range(invocations):
        started = NOW - spacing * index - dt.timedelta(minutes=1)
        save_invocation(store, synthetic(f"inv-{index:04d}", started), now=NOW, prune=False)
    save_invocation(store, synthetic("latest", NOW), now=NOW)

    kept = {record.invocation_id for record in load_history(store)}
    assert len(kept) == remaining
    assert "latest" in kept
    # What stays is always the newest ones: no gap.
    assert {item for item in kept if item != "latest"} == {f"inv-{index:04d}" for index in range(remaining - 1)}


def test_pruning_removes_the_node_results_of_deleted_invocations(built, tmp_path):
    store = tmp_path / "observability.sqlite"
    record = parse_target_dir(built / "target")
    save_invocation(store, dataclasses.replace(record, started_at=NOW - dt.timedelta(days=400)), now=NOW, prune=False)
    for index in range(199):
        started = NOW - dt.timedelta(days=100, minutes=index)
        save_invocation(store, synthetic(f"inv-{index}", started), now=NOW, prune=False)
    save_invocation(store, synthetic("latest", NOW), now=NOW)

    with connect(store) as connection:
        assert connection.execute("select count(*) from node_results").fetchone()[0] == 0
    assert invocation_count(store) == 200


# --- flags -----------------------------------------------------------------------------------


def runs(seconds: list[float], rows: list[int | None] | None = None, full_refresh: set[int] = frozenset()):
    rows = rows if rows is not None else [100] * len(seconds)
    return [
        ModelRun(f"inv-{index}", NOW + dt.timedelta(days=index), "success", index in full_refresh, time, count)
        for index, (time, count) in enumerate(zip(seconds, rows, strict=True))
    ]


def latest(seconds: float, rows: int | None = 100, full_refresh: bool = False, status: str = "success") -> ModelRun:
    return ModelRun("now", NOW + dt.timedelta(days=1000), status, full_refresh, seconds, rows)


def test_runtime_flag_needs_ten_counted_runs_of_history():
    assert runtime_regression(latest(5.0), runs([2.0] * 9)) is None
    assert "above twice the median 2.0s of the last 10 runs" in runtime_regression(latest(5.0), runs([2.0] * 10))


def test_runtime_flag_fires_only_strictly_above_twice_the_median():
    assert runtime_regression(latest(4.0), runs([2.0] * 10)) is None
    assert runtime_regression(latest(4.01), runs([2.0] * 10)) is not None


def test_runtime_flag_uses_the_median_of_the_last_twenty_runs_only():
    history = runs([100.0] * 10 + [2.0] * 20)
    assert runtime_regression(latest(5.0), history) is not None
    # With 11 slow runs among the last 20 the median is slow, and 5 s is no regression.
    assert runtime_regression(latest(5.0), runs([2.0] * 9 + [100.0] * 11)) is None


def test_runtime_flag_ignores_runs_under_one_second():
    assert runtime_regression(latest(0.99), runs([0.2] * 20)) is None
    assert runtime_regression(latest(1.0), runs([0.2] * 20)) is not None


def test_runtime_flag_ignores_full_refresh_and_failed_runs():
    # Full refreshes neither count toward the ten runs nor raise the median.
    history = runs([2.0] * 9 + [30.0] * 5, full_refresh=set(range(9, 14)))
    assert runtime_regression(latest(5.0), history) is None
    history = runs([2.0] * 10 + [30.0] * 11, full_refresh=set(range(10, 21)))
    assert runtime_regression(latest(5.0), history) is not None
    assert runtime_regression(latest(50.0, full_refresh=True), runs([2.0] * 20)) is None
    assert runtime_regression(latest(50.0, status="error"), runs([2.0] * 20)) is None


def test_rows_flag_fires_outside_the_5th_to_95th_percentile():
    history = runs([2.0] * 21, rows=list(range(100, 121)))  # p5 = 101, p95 = 119
    assert rows_inserted_outlier(latest(2.0, rows=101), history) is None
    assert rows_inserted_outlier(latest(2.0, rows=119), history) is None
    assert "outside [101, 119]" in rows_inserted_outlier(latest(2.0, rows=100), history)
    assert rows_inserted_outlier(latest(2.0, rows=120), history) is not None


def test_flags_compare_a_run_only_with_runs_of_the_same_window_width():
    daily = [replace(run, window_days=1) for run in runs([2.0] * 12, rows=[100] * 12)]
    backfill = replace(latest(40.0, rows=3_000), window_days=30)
    # A 30-day backfill after daily runs has no history of its own width: nothing to judge.
    assert runtime_regression(backfill, daily) is None
    assert rows_inserted_outlier(backfill, daily) is None
    # The same figures in a daily run are regressions.
    slow_day = replace(latest(40.0, rows=3_000), window_days=1)
    assert runtime_regression(slow_day, daily) is not None
    assert rows_inserted_outlier(slow_day, daily) is not None
    # Backfills in the history do not stretch the daily runs' percentiles either.
    mixed = daily + [replace(run, window_days=30) for run in runs([40.0] * 12, rows=[3_000] * 12)]
    assert rows_inserted_outlier(slow_day, mixed) is not None


def test_rows_flag_needs_ten_known_counts_and_never_judges_an_unknown_one():
    assert rows_inserted_outlier(latest(2.0, rows=10_000), runs([2.0] * 9, rows=[100] * 9)) is None
    assert rows_inserted_outlier(latest(2.0, rows=10_000), runs([2.0] * 10, rows=[100] * 10)) is not None
    unknown_tenth = runs([2.0] * 10, rows=[100] * 9 + [None])
    assert rows_inserted_outlier(latest(2.0, rows=10_000), unknown_tenth) is None
    assert rows_inserted_outlier(latest(2.0, rows=None), runs([2.0] * 20)) is None


def test_rows_flag_ignores_full_refresh_runs():
    history = runs([2.0] * 15, rows=[100] * 10 + [5_000] * 5, full_refresh=set(range(10, 15)))
    assert rows_inserted_outlier(latest(2.0, rows=5_000), history) is not None
    assert rows_inserted_outlier(latest(2.0, rows=5_000, full_refresh=True), history) is None


def test_zero_rows_flag_needs_five_previous_runs_that_all_inserted():
    assert "0 rows inserted; the last 5 runs inserted 100 to 100" in zero_rows_inserted(
        latest(2.0, rows=0), runs([2.0] * 5)
    )
    assert zero_rows_inserted(latest(2.0, rows=0), runs([2.0] * 4)) is None
    assert zero_rows_inserted(latest(2.0, rows=0), runs([2.0] * 5, rows=[100, 100, 0, 100, 100])) is None
    assert zero_rows_inserted(latest(2.0, rows=0), runs([2.0] * 5, rows=[100, 100, None, 100, 100])) is None
    assert zero_rows_inserted(latest(2.0, rows=1), runs([2.0] * 5)) is None
    assert zero_rows_inserted(latest(2.0, rows=None), runs([2.0] * 5)) is None


def test_zero_rows_flag_skips_full_refresh_runs_in_the_last_five():
    rows = [100, 100, 100, 0, 100, 100]
    # The full refresh that inserted nothing is not among the five counted runs before.
    assert zero_rows_inserted(latest(2.0, rows=0), runs([2.0] * 6, rows=rows, full_refresh={3})) is not None
    assert zero_rows_inserted(latest(2.0, rows=0), runs([2.0] * 6, rows=rows)) is None
    # Five runs of which one is a full refresh: only four counted, too few.
    assert zero_rows_inserted(latest(2.0, rows=0), runs([2.0] * 5, full_refresh={2})) is None
    assert zero_rows_inserted(latest(2.0, rows=0, full_refresh=True), runs([2.0] * 5)) is None


def model_node(name: str, seconds: float, rows: int | None, depends_on=(), thread="Thread-1", start=0.0):
    begin = NOW + dt.timedelta(seconds=start)
    return NodeResult(
        unique_id=f"model.strata.{name}",
        name=name,
        resource_type="model",
        materialization="incremental",
        layer="raw",
        status="success",
        thread_id=thread,
        compile_started_at=begin,
        compile_completed_at=begin,
        execute_started_at=begin,
        execute_completed_at=begin + dt.timedelta(seconds=seconds),
        execution_time=seconds,
        rows_affected=rows,
        rows_inserted=rows,
        rows_updated=None,
        rows_deleted=None,
        rows_total=None,
        failures=None,
        message="OK",
        depends_on=tuple(f"model.strata.{item}" for item in depends_on),
    )


def test_flags_for_an_invocation_judge_it_against_the_runs_before_it_only():
    history = [
        synthetic(f"inv-{day}", NOW + dt.timedelta(days=day), (model_node("fct", 2.0, 100), model_node("dim", 2.0, 50)))
        for day in range(12)
    ]
    slow = synthetic("slow", NOW + dt.timedelta(days=20), (model_node("fct", 9.0, 0), model_node("dim", 2.0, 50)))
    later = synthetic("later", NOW + dt.timedelta(days=21), (model_node("fct", 2.0, 100),))

    flags = flags_for_invocation([*history, slow, later], "slow")

    assert sorted((flag.name, flag.rule) for flag in flags) == [
        ("fct", ROWS_OUTLIER),
        ("fct", RUNTIME),
        ("fct", ZERO_ROWS),
    ]
    assert flags_for_invocation([*history, slow, later], "later") == []
    with pytest.raises(KeyError):
        flags_for_invocation(history, "unknown")


# --- report ----------------------------------------------------------------------------------


def test_critical_path_and_peak_concurrency_on_a_known_graph():
    nodes = [
        model_node("a", 1.0, None, thread="T1", start=0),
        model_node("b", 5.0, None, depends_on=["a"], thread="T1", start=1),
        model_node("c", 2.0, None, depends_on=["a"], thread="T2", start=1),
        model_node("d", 1.0, None, depends_on=["b", "c"], thread="T1", start=6),
        # e starts when c ends: touching intervals do not overlap
        model_node("e", 0.5, None, thread="T2", start=3),
    ]
    chain, seconds = critical_path(nodes)
    assert [item.rsplit(".", 1)[1] for item in chain] == ["a", "b", "d"]
    assert seconds == pytest.approx(7.0)
    assert peak_concurrency(nodes) == 2
    assert peak_concurrency(nodes[:2]) == 1


def test_the_timeline_of_a_real_build_is_consistent(built):
    record = parse_target_dir(built / "target")
    stats = timeline(record)
    by_id = {item.unique_id: item for item in record.nodes}
    assert 1 <= stats.peak_concurrency <= len({item.thread_id for item in record.nodes})
    assert stats.sum_of_node_seconds >= stats.critical_path_seconds > 0
    for parent, child in zip(stats.critical_path, stats.critical_path[1:], strict=False):
        assert parent in by_id[child].depends_on


def assert_valid_png(path: Path) -> None:
    assert path.stat().st_size > 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    height, width = matplotlib.image.imread(path).shape[:2]
    assert height > 50 and width > 50


def test_strata_report_on_a_real_build_writes_the_page_and_charts(built, real_run_results, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    store = home / "observability.sqlite"
    # Counts stripped: the report must work with none, saying "unknown".
    for result in real_run_results["results"]:
        result["adapter_response"] = {"_message": "OK"}
    record_invocation(write_target(tmp_path / "bare", built, real_run_results), store)

    reported = strata_report(home)

    assert reported.returncode == 0, reported.output
    report = home / "report"
    page = (report / "index.html").read_text()
    for name in RAW_MODELS:
        assert name in page
    assert "unknown" in page
    assert "Critical path: " in page and "peak concurrency" in page
    for png in ("timeline", "slowest", "runtime_history", "rows_history"):
        assert f'src="{png}.png"' in page
        assert_valid_png(report / f"{png}.png")


def test_the_report_shows_counts_and_flags_when_the_history_has_them(built, real_run_results, tmp_path):
    store = tmp_path / "home" / "observability.sqlite"
    started = dt.datetime.fromisoformat(real_run_results["metadata"]["invocation_started_at"])
    for day in range(12):
        edited = with_counts(
            real_run_results,
            str(uuid.UUID(int=day)),
            started - dt.timedelta(days=12 - day),
            {"raw_orders": {"rows_inserted": 30 + day, "rows_updated": 3}},
        )
        record_invocation(write_target(tmp_path / f"day{day}", built, edited), store)
    edited = with_counts(
        real_run_results, "the-latest", started, {"raw_orders": {"rows_inserted": 0, "rows_updated": 0}}
    )
    record_invocation(write_target(tmp_path / "latest", built, edited), store)

    reported = strata_report(tmp_path / "home", "--output", str(tmp_path / "out"))

    assert reported.returncode == 0, reported.output
    page = (tmp_path / "out" / "index.html").read_text()
    assert ZERO_ROWS in page and ROWS_OUTLIER in page
    assert "<td>41</td><td>3</td>" in page  # the eleventh day's inserted and updated rows
    assert_valid_png(tmp_path / "out" / "rows_history.png")


def test_strata_report_without_a_store_or_with_an_empty_one_fails_clearly(tmp_path):
    missing = strata_report(tmp_path)
    assert missing.returncode == 1
    assert f"no observability store at {tmp_path / 'observability.sqlite'}" in missing.stderr

    with connect(tmp_path / "observability.sqlite"):
        pass
    empty = strata_report(tmp_path)
    assert empty.returncode == 1
    assert "holds no invocation yet" in empty.stderr
    assert not (tmp_path / "report" / "index.html").exists()
    with pytest.raises(StoreError):
        load_history(tmp_path / "observability.sqlite")
