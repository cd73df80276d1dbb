"""The not_null constraints that replace not_null tests in conformed, reference and modeled are
enforced by the warehouse on every write (docs/layers.md, "Typed columns and not-null constraints")."""

from __future__ import annotations

import json

from pytests.conftest import query, run_strata
from pytests.test_checks import dbt


def window(start: str, end: str) -> str:
    return json.dumps({"window_start": start, "window_end": end})


def table_rows(home, relation: str) -> list[tuple]:
    return query(home, f"select * from {relation} order by all")


def test_a_null_in_a_constrained_column_fails_the_merge_and_leaves_the_tables_as_they_were(
    project_copy_factory, tmp_path
):
    project = project_copy_factory()
    home, target = tmp_path / "home", tmp_path / "target"
    generated = run_strata(home, "generate", "--start", "2024-01-01", "--days", "2", "--orders-per-day", "40")
    assert generated.returncode == 0, generated.output
    build_args = ("--exclude-resource-type", "unit_test")
    first = dbt(project, home, target, "build", "--vars", window("2024-01-01", "2024-01-02"), *build_args)
    assert first.returncode == 0, first.stdout[-3000:]
    conformed_before = table_rows(home, "conformed.cnf_orders")
    modeled_before = table_rows(home, "modeled.fct_orders")
    assert conformed_before and modeled_before

    # The next day's run selects every order of the lookback with no customer: the merge would
    # update the stored ones and insert the new ones.
    model = project / "models" / "conformed" / "cnf_orders.sql"
    config_line, body = model.read_text().split("\n", 1)
    assert config_line.startswith("{{ merge_config(")
    model.write_text(
        f"{config_line}\nselect * replace (cast(null as varchar) as customer_id)\nfrom (\n{body}\n) as versions\n"
    )
    second = dbt(project, home, target, "build", "--vars", window("2024-01-02", "2024-01-03"), *build_args)

    assert second.returncode != 0
    assert "NOT NULL constraint failed: cnf_orders.customer_id" in second.stdout, second.stdout[-3000:]
    statuses = {
        result["unique_id"]: result["status"]
        for result in json.loads((target / "run_results.json").read_text())["results"]
    }
    assert statuses["model.strata.cnf_orders"] == "error"
    assert statuses["model.strata.fct_orders"] == "skipped"
    assert statuses["model.strata.raw_orders"] == "success", "the day was loaded into raw"
    assert table_rows(home, "conformed.cnf_orders") == conformed_before
    assert table_rows(home, "modeled.fct_orders") == modeled_before
