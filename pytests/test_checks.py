"""PR checks: slim CI builds only what changed, and the conventions check fails what breaks them."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from pytests.conftest import BIN, run_strata


def dbt(project: Path, home: Path, target: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "STRATA_HOME": str(home),
        "DBT_TARGET_PATH": str(target),
        "DBT_LOG_PATH": str(home / "logs"),
    }
    return subprocess.run(
        [str(BIN / "dbt"), *args, "--project-dir", str(project), "--profiles-dir", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def descendants(manifest: dict, unique_id: str) -> set[str]:
    found: set[str] = set()
    stack = [unique_id]
    while stack:
        for child in manifest["child_map"][stack.pop()]:
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def test_slim_ci_builds_only_the_changed_model_and_its_children(project_copy_factory, tmp_path):
    project = project_copy_factory()
    home = tmp_path / "home"
    base = home / "base-target"
    # The base branch's build, whose tables the deferred parents resolve to. No landing data: every
    # model builds (empty), which is all --defer needs and keeps the test fast.
    baseline = dbt(project, home, base, "build", "--exclude", "resource_type:test", "resource_type:unit_test")
    assert baseline.returncode == 0, baseline.stdout[-3000:]

    changed = project / "models" / "reference" / "ref_store_hierarchy.sql"
    changed.write_text(changed.read_text() + "-- a reviewed change\n")
    result = run_strata(home, "ci", "--state", str(base), "--project-dir", str(project))
    assert result.returncode == 0, result.output[-3000:]

    target = home / "ci-target"
    executed = {r["unique_id"] for r in json.loads((target / "run_results.json").read_text())["results"]}
    manifest = json.loads((target / "manifest.json").read_text())
    changed_id = "model.strata.ref_store_hierarchy"
    expected_models = {changed_id} | {n for n in descendants(manifest, changed_id) if n.startswith("model.")}
    assert {n for n in executed if n.startswith("model.")} == expected_models
    assert expected_models == {changed_id, "model.strata.dim_stores", "model.strata.fct_daily_store_sales"}
    # Tests of the changed models run too; nothing upstream (the store quarantine, raw) is rebuilt.
    assert any(n.startswith("test.") for n in executed)
    assert not any(n.startswith("seed.") for n in executed)


def test_slim_ci_of_an_unchanged_project_builds_nothing_after_a_windowed_base(project_copy_factory, tmp_path):
    """A daily build's state renders its window into the merged models' configs; compared under
    the default vars, every merged model would look modified."""
    project = project_copy_factory()
    home = tmp_path / "home"
    base = home / "base-target"
    window = json.dumps({"window_start": "2024-01-02", "window_end": "2024-01-03"})
    baseline = dbt(
        project, home, base, "build", "--vars", window, "--exclude", "resource_type:test", "resource_type:unit_test"
    )
    assert baseline.returncode == 0, baseline.stdout[-3000:]

    result = run_strata(home, "ci", "--state", str(base), "--project-dir", str(project))
    assert result.returncode == 0, result.output[-3000:]
    assert "dbt executed 0 nodes" in result.output


def test_slim_ci_names_a_state_directory_without_a_manifest(tmp_path):
    result = run_strata(tmp_path / "home", "ci", "--state", str(tmp_path / "nowhere"))
    assert result.returncode != 0
    assert f"--state {tmp_path / 'nowhere'}: no manifest.json" in result.output


def conventions(target: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "python"), "-m", "orchestration.conventions", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_conventions_check_fails_an_undocumented_misnamed_keyless_model(project_copy_factory, tmp_path):
    project = project_copy_factory()
    (project / "models" / "modeled" / "orders_by_day.sql").write_text(
        "select order_date as day, count(*) as n_orders, true as paid from {{ ref('raw_orders') }} group by 1\n"
    )
    (project / "models" / "modeled" / "orders_by_day.yml").write_text(
        "version: 2\nmodels:\n  - name: orders_by_day\n    config: {contract: {enforced: false}}\n"
        "    columns:\n      - name: day\n        data_type: date\n      - name: paid\n        data_type: boolean\n"
    )
    (project / "models" / "conformed" / "cnf_no_yaml.sql").write_text("select 1 as thing_id\n")
    parsed = dbt(project, tmp_path, tmp_path / "target", "parse")
    assert parsed.returncode == 0, parsed.stdout[-3000:]

    result = conventions(tmp_path / "target")

    assert result.returncode == 1
    out = result.stdout
    assert "models/modeled/orders_by_day.yml: model orders_by_day has no description" in out
    assert "modeled model orders_by_day must start with dim_ or fct_" in out
    assert "model orders_by_day has no tested primary key" in out
    assert "column orders_by_day.day has no description" in out
    assert "column orders_by_day.day (date): dates end in _date" in out
    assert "column orders_by_day.paid (boolean): booleans start with is_ or has_" in out
    assert "modeled model orders_by_day reads raw raw_orders" in out
    assert "models/conformed/cnf_no_yaml.sql: model cnf_no_yaml has no description" in out
    assert "100.0%" not in out.split("models with a description")[1].splitlines()[0]


def test_conventions_check_names_a_missing_manifest(tmp_path):
    result = conventions(tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'manifest.json'} not found" in result.stderr
