"""End to end: generated landing data through `strata build` into all four layers.

One noisy generated history is built once (session fixture) and read by most tests; tests that
change data work on their own copy of the landing files.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import dbt.include.global_project
import duckdb
import pytest

from orchestration.dbt_invoke import invoke_dbt
from pytests.conftest import copy_landing, query, run_strata

pytestmark = pytest.mark.xdist_group("generated")

START = dt.date(2024, 1, 1)
DAYS = 10
GENERATE_ARGS = (
    "generate",
    "--start",
    START.isoformat(),
    "--days",
    str(DAYS),
    "--orders-per-day",
    "300",
    "--malformed-rate",
    "0.02",
    "--duplicate-rate",
    "0.03",
    "--no-progress",
)
LAYERS = ("raw", "conformed", "reference", "modeled")

# generator noise key -> the reject reason conformed must give those rows
NOISE_REASONS = {
    "malformed_null_key": "null_key",
    "malformed_bad_timestamp": "bad_timestamp",
    "malformed_negative_amount": "negative_amount",
    "malformed_unknown_sku": "unknown_product",
    "malformed_unknown_store": "unknown_store",
}
ENTITY_MODELS = {
    "customers": "customers",
    "stores": "stores",
    "products": "products",
    "supplies": "supplies",
    "orders": "orders",
    "items": "order_items",
    "events": "events",
}


def manifests(home: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted((home / "landing").glob("*/*/_manifest.json"))]


@pytest.fixture(scope="session")
def built_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("built")
    generated = run_strata(home, *GENERATE_ARGS)
    assert generated.returncode == 0, generated.output
    built = run_strata(home, "build")
    return home, built


def test_build_passes_every_dbt_test_and_prints_a_per_layer_summary(built_home):
    home, built = built_home
    assert built.returncode == 0, built.output[-4000:]
    assert "ERROR=0" in built.stdout and "SKIP=0" in built.stdout
    summary = {
        line.split()[0]: line.split()[1:]
        for line in built.stdout.splitlines()
        if line.split()[:1] and line.split()[0] in LAYERS
    }
    assert set(summary) == set(LAYERS)
    for layer, (models, rows, _seconds) in summary.items():
        assert int(models) > 0, layer
        assert int(rows.replace(",", "")) > 0, layer
    # The data tests ran; the unit tests are left to `make check`.
    kinds = collections.Counter(
        result["unique_id"].split(".")[0]
        for result in json.loads((home / "target" / "run_results.json").read_text())["results"]
    )
    assert kinds["test"] > 100 and kinds["unit_test"] == 0, kinds


def test_schemas_are_named_after_the_layers(built_home):
    home, _ = built_home
    tables = query(
        home,
        "select schema_name, table_name from duckdb_tables()"
        " union all select schema_name, view_name from duckdb_views() where not internal",
    )
    schemas = collections.defaultdict(set)
    for schema, table in tables:
        schemas[schema].add(table)
    assert {"raw_orders", "raw_events"} <= schemas["raw"]
    assert {"cnf_orders", "cnf_orders__rejects", "cnf_orders__checked"} <= schemas["conformed"]
    assert {"ref_calendar", "store_regions"} <= schemas["reference"]
    assert {"fct_orders", "dim_customers", "fct_daily_store_sales"} <= schemas["modeled"]


def test_raw_holds_exactly_the_rows_each_manifest_announced(built_home):
    home, _ = built_home
    for manifest in manifests(home):
        entity, batch = manifest["entity"], manifest["batch_date"]
        [(loaded,)] = query(home, f"select count(*) from raw.raw_{entity} where _batch_date = '{batch}'")
        assert loaded == sum(item["rows"] for item in manifest["files"]), f"{entity}/{batch}"


def test_every_injected_malformed_row_is_quarantined_with_its_reason(built_home):
    home, _ = built_home
    injected = collections.Counter()
    for manifest in manifests(home):
        for key, count in manifest["noise"].items():
            if key in NOISE_REASONS and count:
                injected[(ENTITY_MODELS[manifest["entity"]], NOISE_REASONS[key])] += count
    assert injected, "the generator injected no malformed rows; the test would prove nothing"
    quarantined = collections.Counter()
    for model in ENTITY_MODELS.values():
        for reason, count in query(
            home, f"select reject_reason, count(*) from conformed.cnf_{model}__rejects group by 1"
        ):
            quarantined[(model, reason)] = count
    assert quarantined == injected


def test_raw_rows_are_accounted_for_in_conformed(built_home):
    """raw = conformed + rejected + superseded + duplicates, computed here from the delivered rows."""
    home, _ = built_home
    [(raw_rows,)] = query(home, "select count(*) from raw.raw_orders")
    [(rejected,)] = query(home, "select count(*) from conformed.cnf_orders__rejects")
    [(conformed,)] = query(home, "select count(*) from conformed.cnf_orders")
    # Each raw row's delivered content, in the form the quarantine keeps it.
    delivered = (
        "cast(json_object('id', id, 'customer', customer, 'ordered_at', ordered_at, 'store_id', store_id, "
        "'subtotal', subtotal, 'tax_paid', tax_paid, 'order_total', order_total, 'status', status, "
        "'updated_at', updated_at) as varchar)"
    )
    [(rejected_in_raw,)] = query(
        home,
        f"select count(*) from raw.raw_orders"
        f" where {delivered} in (select delivered_record from conformed.cnf_orders__rejects)",
    )
    assert rejected_in_raw == rejected
    [(distinct_valid_rows,)] = query(
        home,
        f"""
        select count(*) from (
            select distinct {delivered} as content
            from raw.raw_orders
            where {delivered} not in (select delivered_record from conformed.cnf_orders__rejects)
        )
        """,
    )
    duplicates = raw_rows - rejected - distinct_valid_rows
    superseded = distinct_valid_rows - conformed
    assert duplicates > 0 and superseded > 0, "noise and CDC versions should both be present"
    duplicates_injected = sum(m["noise"].get("duplicates", 0) for m in manifests(home) if m["entity"] == "orders")
    assert duplicates == duplicates_injected
    assert raw_rows == conformed + rejected + superseded + duplicates


@pytest.mark.parametrize("windowed", [False, True], ids=["full build", "windowed run"])
def test_reconciliation_test_fails_when_conformed_loses_a_row(built_home, tmp_path, project_copy_factory, windowed):
    """The dbt reconciliation test is not vacuous: delete one conformed order and it fails, in a
    full build and in a windowed run of the batch that delivered the order."""
    import shutil

    import duckdb

    home, _ = built_home
    copy_landing(home, tmp_path)
    shutil.copy(home / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        [(order_id, batch_date)] = connection.sql(
            "select order_id, source_batch_date from conformed.cnf_orders"
            " where source_batch_date = (select max(source_batch_date) from conformed.cnf_orders)"
            " order by order_id limit 1"
        ).fetchall()
        connection.execute("delete from conformed.cnf_orders where order_id = ?", [order_id])
    from orchestration.dbt_invoke import invoke_dbt

    window = {"window_start": str(batch_date), "window_end": str(batch_date + dt.timedelta(days=1))}
    outcome = invoke_dbt(
        ["test", "--indirect-selection", "eager", "--select", "cnf_orders,test_name:reconciles_with_raw"],
        home=tmp_path,
        dbt_vars=window if windowed else None,
    )
    assert not outcome.success
    assert "Failure in test reconciles_with_raw_cnf_orders" in (tmp_path / "logs" / "dbt.log").read_text()
    [compiled] = (tmp_path / "target" / "compiled").rglob("reconciles_with_raw_cnf_orders_*.sql")
    assert ("window_checked" in compiled.read_text()) == windowed, "the wrong form of the test ran"


def test_strata_test_materialization_is_dbts_own_but_for_the_transaction():
    """macros/test_materialization.sql copies dbt's; an upgraded dbt whose original differs must
    fail here until the copy follows it."""
    original = (
        Path(dbt.include.global_project.__file__).parent / "macros" / "materializations" / "tests" / "test.sql"
    ).read_text()
    copy = (Path(__file__).parents[1] / "macros" / "test_materialization.sql").read_text()
    body = copy[copy.index("-#}\n") + len("-#}\n") :]
    changed = "{% call statement('main', fetch_result=True, auto_begin=False) -%}"
    assert body.count(changed) == 1
    assert body.replace(changed, "{% call statement('main', fetch_result=True) -%}") == original


def test_a_data_test_reads_outside_a_transaction_and_still_fails(built_home, tmp_path, monkeypatch):
    home, _ = built_home
    copy_landing(home, tmp_path)
    shutil.copy(home / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as connection:
        connection.execute(
            "update conformed.cnf_orders set order_status = 'lost'"
            " where order_id = (select min(order_id) from conformed.cnf_orders)"
        )
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # dbt.log names each statement at debug only
    outcome = invoke_dbt(["test", "--select", "cnf_orders,test_name:accepted_values"], home=tmp_path)

    assert not outcome.success
    log = (tmp_path / "logs" / "dbt.log").read_text()
    assert "Failure in test accepted_values_cnf_orders_order_status" in log
    statements = [line for line in log.splitlines() if "On test.strata.accepted_values_cnf_orders_order_status" in line]
    assert any(": /*" in line for line in statements), "the test's own statements are not in dbt.log"
    assert not any(line.rstrip().endswith(": BEGIN") for line in statements), (
        "a read-only data test opened a transaction"
    )


def test_fct_order_items_carry_price_and_summed_supply_cost(built_home):
    home, _ = built_home
    supply_cost = dict(query(home, "select product_id, sum(supply_cost) from conformed.cnf_supplies group by 1"))
    price = dict(query(home, "select product_id, product_price from conformed.cnf_products"))
    rows = query(home, "select product_id, product_price, supply_cost from modeled.fct_order_items")
    assert len(rows) == query(home, "select count(*) from conformed.cnf_order_items")[0][0]
    assert any(
        len(ids) > 1
        for ids in [
            q
            for q in [
                query(home, "select supply_id, count(*) from conformed.cnf_supplies group by 1 having count(*) > 1")
            ]
        ]
    )
    for product_id, item_price, item_cost in rows:
        assert item_price == price[product_id]
        assert item_cost == supply_cost[product_id]


def test_fct_orders_follows_its_definition(built_home):
    home, _ = built_home
    items = collections.defaultdict(list)
    for order_id, price, cost, is_food, is_drink in query(
        home, "select order_id, product_price, supply_cost, is_food_item, is_drink_item from modeled.fct_order_items"
    ):
        items[order_id].append((price, cost, is_food, is_drink))
    orders = query(
        home,
        """select order_id, customer_id, ordered_at, subtotal, tax_paid, order_total, order_cost, order_items_subtotal,
                  count_order_items, count_food_items, count_drink_items, is_food_order, is_drink_order,
                  customer_order_number
           from modeled.fct_orders""",
    )
    assert len(orders) == query(home, "select count(*) from conformed.cnf_orders")[0][0]
    by_customer = collections.defaultdict(list)
    for row in orders:
        (
            order_id,
            customer_id,
            ordered_at,
            subtotal,
            tax,
            total,
            cost,
            items_subtotal,
            count_items,
            count_food,
            count_drink,
            is_food,
            is_drink,
            number,
        ) = row
        lines = items[order_id]
        assert total == subtotal + tax
        assert cost == sum((line[1] for line in lines), Decimal(0))
        assert items_subtotal == sum((line[0] for line in lines), Decimal(0))
        assert count_items == len(lines)
        assert count_food == sum(1 for line in lines if line[2])
        assert count_drink == sum(1 for line in lines if line[3])
        assert is_food == (count_food > 0) and is_drink == (count_drink > 0)
        by_customer[customer_id].append((ordered_at, order_id, number))
    assert any(len(v) > 1 for v in by_customer.values())
    for customer_orders in by_customer.values():
        assert [number for *_, number in sorted(customer_orders)] == list(range(1, len(customer_orders) + 1))


def test_dim_customers_counts_completed_orders_only_and_keeps_customers_without_orders(built_home):
    home, _ = built_home
    customers = {
        row[0]: row[1:]
        for row in query(
            home,
            """select customer_id, count_lifetime_orders, lifetime_spend_pretax, lifetime_tax_paid, lifetime_spend,
                  first_ordered_at, last_ordered_at, customer_type
           from modeled.dim_customers""",
        )
    }
    assert set(customers) == {row[0] for row in query(home, "select customer_id from conformed.cnf_customers")}
    completed = collections.defaultdict(list)
    for customer_id, subtotal, tax, total, ordered_at in query(
        home,
        "select customer_id, subtotal, tax_paid, order_total, ordered_at"
        " from modeled.fct_orders where order_status = 'completed'",
    ):
        completed[customer_id].append((subtotal, tax, total, ordered_at))
    statuses = {row[0] for row in query(home, "select distinct order_status from modeled.fct_orders")}
    assert {"placed", "completed", "cancelled"} <= statuses, "the data should exercise the completed-only rule"
    without_orders = 0
    for customer_id, (count, pretax, tax, total, first, last, customer_type) in customers.items():
        orders = completed.get(customer_id, [])
        assert count == len(orders)
        assert pretax == sum((o[0] for o in orders), Decimal(0))
        assert tax == sum((o[1] for o in orders), Decimal(0))
        assert total == sum((o[2] for o in orders), Decimal(0))
        assert first == (min(o[3] for o in orders) if orders else None)
        assert last == (max(o[3] for o in orders) if orders else None)
        assert customer_type == ("returning" if len(orders) > 1 else "new")
        without_orders += not orders
    assert without_orders > 0


def test_fct_daily_store_sales_sums_revenue_orders_per_store_and_day(built_home):
    home, _ = built_home
    expected = collections.defaultdict(lambda: [0, 0, Decimal(0), Decimal(0)])
    for store_id, order_date, status, items, subtotal, cost in query(
        home,
        "select store_id, order_date, order_status, count_order_items, subtotal, order_cost from modeled.fct_orders",
    ):
        if status in ("placed", "completed"):
            entry = expected[(store_id, order_date)]
            entry[0] += 1
            entry[1] += items
            entry[2] += subtotal
            entry[3] += cost
    rows = query(
        home,
        "select store_id, sales_date, count_orders, count_items, revenue, supply_cost, margin"
        " from modeled.fct_daily_store_sales",
    )
    assert len({(r[0], r[1]) for r in rows}) == len(rows)
    for store_id, sales_date, count_orders, count_items, revenue, supply_cost, margin in rows:
        want = expected.pop((store_id, sales_date), [0, 0, Decimal(0), Decimal(0)])
        assert [count_orders, count_items, revenue, supply_cost] == want
        assert margin == revenue - supply_cost
    assert not expected, f"store days with sales missing from fct_daily_store_sales: {sorted(expected)[:3]}"


def test_relanding_a_batch_replaces_it_instead_of_adding_to_it(built_home, tmp_path):
    home, _ = built_home
    copy_landing(home, tmp_path)
    first = run_strata(tmp_path, "build", "--select", "raw")
    assert first.returncode == 0, first.output[-3000:]
    day = START + dt.timedelta(days=4)
    [(before,)] = query(tmp_path, f"select count(*) from raw.raw_orders where _batch_date = '{day}'")
    relanded = run_strata(
        tmp_path,
        "generate",
        "--start",
        day.isoformat(),
        "--days",
        "1",
        "--world-start",
        START.isoformat(),
        "--orders-per-day",
        "150",
        "--no-progress",
    )
    assert relanded.returncode == 0, relanded.output
    manifest = json.loads((tmp_path / "landing" / "orders" / day.isoformat() / "_manifest.json").read_text())
    announced = manifest["files"][0]["rows"]
    assert announced != before
    again = run_strata(
        tmp_path,
        "build",
        "--select",
        "raw",
        "--start",
        day.isoformat(),
        "--end",
        (day + dt.timedelta(days=1)).isoformat(),
    )
    assert again.returncode == 0, again.output[-3000:]
    [(after,)] = query(tmp_path, f"select count(*) from raw.raw_orders where _batch_date = '{day}'")
    assert after == announced
    [(other_days,)] = query(tmp_path, f"select count(*) from raw.raw_orders where _batch_date != '{day}'")
    assert other_days > 0


def test_a_truncated_file_fails_its_batch_and_spares_the_others(built_home, tmp_path):
    home, _ = built_home
    copy_landing(home, tmp_path)
    broken_day = START + dt.timedelta(days=3)
    broken = tmp_path / "landing" / "orders" / broken_day.isoformat() / "orders.csv"
    data = broken.read_bytes()
    broken.write_bytes(data[: len(data) // 2])

    built = run_strata(tmp_path, "build", "--select", "raw")

    assert built.returncode == 1
    assert str(broken) in built.stderr and "truncated" in built.stderr
    [(broken_rows,)] = query(tmp_path, f"select count(*) from raw.raw_orders where _batch_date = '{broken_day}'")
    assert broken_rows == 0, "no partial rows from the truncated file"
    loaded_days = {row[0] for row in query(tmp_path, "select distinct _batch_date from raw.raw_orders")}
    assert loaded_days == {START + dt.timedelta(days=n) for n in range(DAYS)} - {broken_day}
    [(items_that_day,)] = query(tmp_path, f"select count(*) from raw.raw_items where _batch_date = '{broken_day}'")
    assert items_that_day > 0


def test_a_corrupt_file_read_by_dbt_directly_fails_the_model_naming_the_file(built_home, tmp_path):
    """Without the CLI's manifest check, DuckDB's strict CSV reader still refuses a broken file."""
    from orchestration.dbt_invoke import invoke_dbt

    home, _ = built_home
    copy_landing(home, tmp_path)
    broken = tmp_path / "landing" / "orders" / START.isoformat() / "orders.csv"
    broken.write_bytes(broken.read_bytes() + b"abc,def\n")
    log = tmp_path / "logs" / "dbt.log"

    outcome = invoke_dbt(["run", "--select", "raw_orders"], home=tmp_path)

    assert not outcome.success
    assert str(broken) in log.read_text()
    [(tables,)] = query(tmp_path, "select count(*) from duckdb_tables() where table_name = 'raw_orders'")
    assert tables == 0


def test_the_summary_counts_rows_exactly_after_a_batch_is_replaced(built_home, tmp_path):
    """delete+insert leaves deleted rows in DuckDB's catalog estimate; the summary must not show them."""
    from orchestration.build_summary import table_row_counts

    home, _ = built_home
    copy_landing(home, tmp_path)
    for _ in range(2):
        built = run_strata(tmp_path, "build", "--select", "raw", "--start", START.isoformat(), "--end", "2024-01-03")
        assert built.returncode == 0, built.output[-3000:]
    [(actual,)] = query(tmp_path, "select count(*) from raw.raw_orders")
    assert table_row_counts(tmp_path / "warehouse.duckdb")[("raw", "raw_orders")] == actual
    [raw_line] = [line for line in built.stdout.splitlines() if line.startswith("raw ")]
    raw_tables = [t for (schema, t) in table_row_counts(tmp_path / "warehouse.duckdb") if schema == "raw"]
    expected = sum(query(tmp_path, f"select count(*) from raw.{table}")[0][0] for table in raw_tables)
    assert int(raw_line.split()[2].replace(",", "")) == expected
