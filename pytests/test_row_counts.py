"""Row counts from the statements that wrote the data: run_results' adapter_response, the row
ledger behind rows_total, and the metadata each Dagster materialization carries.

Every expected number here comes from a count(*) the test runs itself; the build never runs one.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from pytests.conftest import BIN, query, run_strata

START = dt.date(2024, 1, 1)
COUNT_KEYS = ("rows_affected", "rows_inserted", "rows_updated", "rows_deleted", "rows_total")

# A merged model whose input the test controls: phase 1 has ids 1-10; phase 2 keeps 1-5 as they
# were, changes 6-7, drops 8-10 (deleted: the model deletes stored rows its select no longer
# produces) and adds 11-14.
PROBE_MODEL = """
{{ merge_config('probe_id', delete_unmatched_when='true') }}
{% set phase = var('probe_phase', 1) | int %}
select
    cast(probe_id as integer) as probe_id,
    case when {{ phase }} = 2 and probe_id in (6, 7) then 'changed' else 'first' end as probe_label
from range(1, 15) as ids (probe_id)
where ({{ phase }} = 1 and probe_id <= 10) or ({{ phase }} = 2 and probe_id not in (8, 9, 10))
{#- A fixture in the conformed folder, which enforces contracts; it declares no columns. #}
{{ config(contract={'enforced': false}) }}
"""


def dbt(project: Path, home: Path, *args: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "STRATA_HOME": str(home), "DBT_TARGET_PATH": str(home / "target")}
    command = [str(BIN / "dbt"), *args, "--project-dir", str(project), "--profiles-dir", str(project)]
    return subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600, check=False)


def node_responses(target: Path) -> dict[str, dict]:
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[-1]: result["adapter_response"] for result in results}


def test_a_batch_with_known_new_changed_and_deleted_rows_reports_exactly_those(project_copy_factory, tmp_path):
    project = project_copy_factory()
    (project / "models" / "conformed" / "cnf_count_probe.sql").write_text(PROBE_MODEL)
    expected = [
        # first run: the table is created with 10 rows
        {"code": "CREATE", "rows_affected": 10, "rows_inserted": 10, "rows_updated": 0, "rows_deleted": 0},
        # 4 new, 2 changed, 3 gone; 5 unchanged rows are not rewritten
        {"rows_affected": 9, "rows_inserted": 4, "rows_updated": 2, "rows_deleted": 3, "rows_total": 11},
        # the same input again changes nothing
        {"rows_affected": 0, "rows_inserted": 0, "rows_updated": 0, "rows_deleted": 0, "rows_total": 11},
    ]
    for phase, counts in zip((1, 2, 2), expected, strict=True):
        run = dbt(project, tmp_path, "run", "--select", "cnf_count_probe", "--vars", json.dumps({"probe_phase": phase}))
        assert run.returncode == 0, run.stdout[-3000:]
        response = node_responses(tmp_path / "target")["cnf_count_probe"]
        assert {key: response.get(key) for key in counts} == counts, response
        [(actual,)] = query(tmp_path, "select count(*) from conformed.cnf_count_probe")
        assert response["rows_total"] == actual


def test_a_failed_run_leaves_the_ledger_with_the_table(project_copy_factory, tmp_path):
    """The ledger is written inside the model's transaction: a run that fails after its statements
    wrote rows rolls back the rows and the ledger together, and the next total is still exact."""
    project = project_copy_factory()
    probe = project / "models" / "conformed" / "cnf_count_probe.sql"
    probe.write_text(PROBE_MODEL)
    assert dbt(project, tmp_path, "run", "--select", "cnf_count_probe").returncode == 0
    # A post-hook after the ledger's fails the model once its statements have run.
    probe.write_text("{{ config(post_hook=\"select error('stop')\") }}\n" + PROBE_MODEL)
    failed = dbt(project, tmp_path, "run", "--select", "cnf_count_probe", "--vars", '{"probe_phase": 2}')
    assert failed.returncode != 0
    assert query(tmp_path, "select count(*) from conformed.cnf_count_probe") == [(10,)]
    assert query(tmp_path, "select rows_total from strata_meta.row_totals where table_name = 'cnf_count_probe'") == [
        (10,)
    ]
    probe.write_text(PROBE_MODEL)
    assert dbt(project, tmp_path, "run", "--select", "cnf_count_probe", "--vars", '{"probe_phase": 2}').returncode == 0
    assert node_responses(tmp_path / "target")["cnf_count_probe"]["rows_total"] == 11


def test_a_run_without_a_split_leaves_the_total_unknown_rather_than_stale(project_copy_factory, tmp_path):
    """dbt-duckdb's own merge strategy is one MERGE: its total is known, its split is not, so the
    ledger cannot carry the table's size forward and forgets it instead of keeping the old one."""
    project = project_copy_factory()
    probe = project / "models" / "conformed" / "cnf_count_probe.sql"
    probe.write_text(
        "{{ config(materialized='incremental', incremental_strategy='merge', unique_key='probe_id') }}\n"
        + PROBE_MODEL.split("\n", 2)[2]
    )
    assert dbt(project, tmp_path, "run", "--select", "cnf_count_probe").returncode == 0
    assert node_responses(tmp_path / "target")["cnf_count_probe"]["rows_total"] == 10
    merged = dbt(project, tmp_path, "run", "--select", "cnf_count_probe", "--vars", '{"probe_phase": 2}')
    assert merged.returncode == 0, merged.stdout[-3000:]
    response = node_responses(tmp_path / "target")["cnf_count_probe"]
    # 4 new + 2 changed (a MERGE also rewrites the 5 unchanged rows it matched)
    assert response["rows_affected"] == 11
    assert response.get("rows_inserted") is None and response.get("rows_total") is None, response
    ledger = "select count(*) from strata_meta.row_totals where table_name = 'cnf_count_probe'"
    assert query(tmp_path, ledger) == [(0,)]
    assert query(tmp_path, "select count(*) from conformed.cnf_count_probe") == [(14,)]


def test_with_the_ledger_off_the_statement_counts_stay_and_no_total_is_kept(project_copy_factory, tmp_path):
    project = project_copy_factory()
    (project / "models" / "conformed" / "cnf_count_probe.sql").write_text(PROBE_MODEL)
    run = dbt(project, tmp_path, "run", "--select", "cnf_count_probe", "--vars", '{"record_row_totals": false}')
    assert run.returncode == 0, run.stdout[-3000:]
    response = node_responses(tmp_path / "target")["cnf_count_probe"]
    assert response["rows_inserted"] == 10 and "rows_total" not in response, response
    ledger = "select count(*) from duckdb_tables() where schema_name = 'strata_meta'"
    assert query(tmp_path, ledger) == [(0,)]


def test_views_carry_no_counts_and_unknown_is_never_minus_one(project_copy_factory, tmp_path):
    project = project_copy_factory()
    run = dbt(project, tmp_path, "build", "--select", "+cnf_stores__checked")
    assert run.returncode == 0, run.stdout[-3000:]
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    materialized = {node["name"]: node["config"]["materialized"] for node in manifest["nodes"].values()}
    responses = node_responses(tmp_path / "target")
    assert materialized["cnf_stores__checked"] == "view"
    assert not set(COUNT_KEYS) & set(responses["cnf_stores__checked"])
    for response in responses.values():
        assert all(response.get(key) is None or response[key] >= 0 for key in COUNT_KEYS), response


@pytest.fixture(scope="module")
def one_day_raw_build(tmp_path_factory):
    """Three landed days with noise; then raw alone rebuilt for one of them, as one partition."""
    home = tmp_path_factory.mktemp("counts")
    generated = run_strata(
        home, "generate", "--start", START.isoformat(), "--days", "3", "--orders-per-day", "150", "--no-progress"
    )
    assert generated.returncode == 0, generated.output
    # dbt.log holds every statement at debug only (test_the_build_runs_no_count_over_a_built_relation).
    debug_log = {"DBT_LOG_LEVEL_FILE": "debug"}
    built = run_strata(home, "build", "--start", START.isoformat(), "--end", "2024-01-04", env=debug_log)
    assert built.returncode == 0, built.output[-3000:]
    day = START + dt.timedelta(days=1)
    rebuilt = run_strata(
        home, "build", "--select", "raw", "--start", day.isoformat(), "--end", "2024-01-03", env=debug_log
    )
    assert rebuilt.returncode == 0, rebuilt.output[-3000:]
    return home, day


def test_every_reported_table_total_equals_a_count(one_day_raw_build, tmp_path):
    home, _ = one_day_raw_build
    manifest = json.loads((home / "target" / "manifest.json").read_text())
    ledger = query(home, "select schema_name, table_name, rows_total from strata_meta.row_totals")
    assert len(ledger) >= 30
    for schema, table, total in ledger:
        assert query(home, f'select count(*) from "{schema}"."{table}"') == [(total,)], (schema, table)
    results = json.loads((home / "target" / "run_results.json").read_text())["results"]
    for result in results:
        node = manifest["nodes"][result["unique_id"]]
        if "rows_total" in result["adapter_response"]:
            [(actual,)] = query(home, f'select count(*) from "{node["schema"]}"."{node["alias"]}"')
            assert result["adapter_response"]["rows_total"] == actual, node["name"]


def test_each_materialization_carries_its_counts_and_a_one_day_raw_build_its_partition_count(one_day_raw_build):
    from dagster import AssetKey

    from orchestration.dagster_home import instance_for

    home, day = one_day_raw_build
    instance = instance_for(home)
    materialization = instance.get_latest_materialization_event(AssetKey(["raw", "raw_orders"])).asset_materialization
    metadata = {name: value.value for name, value in materialization.metadata.items()}
    [(table_rows,)] = query(home, "select count(*) from raw.raw_orders")
    [(day_rows,)] = query(home, f"select count(*) from raw.raw_orders where _batch_date = '{day}'")
    assert materialization.partition == day.isoformat()
    assert metadata["dagster/row_count"] == table_rows
    assert metadata["dagster/partition_row_count"] == day_rows == metadata["strata/rows_inserted"]
    assert metadata["strata/rows_deleted"] == day_rows  # the batch it replaced
    assert metadata["strata/execute_seconds"] > 0 and metadata["strata/compile_seconds"] >= 0
    assert re.fullmatch(r"[0-9a-f-]{36}", metadata["dbt/invocation_id"])
    # A model built over the three-day window: its total, but no partition count (a window also
    # rewrites its lookback days, so the rows it wrote are not one partition's).
    fact = instance.get_latest_materialization_event(AssetKey(["modeled", "fct_orders"])).asset_materialization
    [(fact_rows,)] = query(home, "select count(*) from modeled.fct_orders")
    assert fact.metadata["dagster/row_count"].value == fact_rows
    assert "dagster/partition_row_count" not in fact.metadata


def test_a_one_day_build_that_skipped_a_batch_reports_no_partition_count(one_day_raw_build, tmp_path):
    """A corrupt batch is skipped and the day's earlier load stays: the rows inserted (none) are
    not the partition's size, so no partition count is reported."""
    import shutil

    from dagster import AssetKey

    from orchestration.dagster_home import instance_for

    source, day = one_day_raw_build
    home = tmp_path / "home"
    shutil.copytree(source, home, ignore=shutil.ignore_patterns("*.lock"))
    batch = home / "landing" / "orders" / day.isoformat() / "orders.csv"
    batch.write_bytes(batch.read_bytes() + b"tampered\n")
    built = run_strata(home, "build", "--select", "raw", "--start", day.isoformat(), "--end", "2024-01-03")
    assert built.returncode == 1, built.output[-3000:]
    assert "orders" in built.output and "not loaded" in built.output
    materialization = (
        instance_for(home).get_latest_materialization_event(AssetKey(["raw", "raw_orders"])).asset_materialization
    )
    assert materialization.metadata["strata/rows_inserted"].value == 0
    assert "dagster/partition_row_count" not in materialization.metadata
    [(day_rows,)] = query(home, f"select count(*) from raw.raw_orders where _batch_date = '{day}'")
    assert day_rows > 0


def test_the_build_runs_no_count_over_a_built_relation(one_day_raw_build):
    """Every statement dbt ran is in its debug log; none counts a table of the warehouse."""
    home, _ = one_day_raw_build
    recount = re.compile(
        r"select\s+count\(\s*\*\s*\)\s+from\s+\"?(warehouse\"?\.)?\"?(raw|conformed|reference|modeled)\b", re.I
    )
    statements = []
    for log in (home / "target").glob("dbt.log*"):
        for line in log.read_text().splitlines():
            event = json.loads(line) if line.startswith("{") else None
            if event and event["info"]["name"] == "SQLQuery":
                statements.append(event["data"]["sql"])
    assert len(statements) > 100
    assert [statement for statement in statements if recount.search(statement)] == []
