"""Tests for orchestration.jafgen_import: real `jafgen 1` output plus small hand-written deliveries."""

from __future__ import annotations

import csv
import datetime as dt
import json
import time
from collections import Counter
from pathlib import Path

import pytest

from orchestration.jafgen_import import (
    ImportSummary,
    JafgenImportError,
    import_jafgen,
)
from orchestration.landing import (
    ENTITY_COLUMNS,
    ENTITY_FILES,
    MANIFEST_NAME,
    iter_batches,
    verify_batch,
)
from pytests.conftest import CUSTOM_PREFIX

ENTITIES = ("customers", "orders", "items", "products", "stores", "supplies")
STATIC = ("customers", "stores", "products", "supplies")

pytestmark = pytest.mark.xdist_group("jafgen")


# --------------------------------------------------------------------------- helpers


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def landed(landing: Path, entity: str) -> dict[dt.date, tuple[list[str], list[list[str]]]]:
    """Each batch's header and rows for one entity, by batch date."""
    out = {}
    for batch_path in sorted((landing / entity).iterdir()):
        assert not batch_path.name.startswith("."), f"temporary directory left behind: {batch_path}"
        out[dt.date.fromisoformat(batch_path.name)] = read_csv(batch_path / ENTITY_FILES[entity])
    return out


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def assert_nothing_landed(landing: Path) -> None:
    assert not landing.exists() or list(landing.iterdir()) == []


# --------------------------------------------------------------------------- real jafgen output


@pytest.fixture(scope="session")
def jafgen_input(jafgen_dir) -> dict[str, tuple[list[str], list[list[str]]]]:
    return {entity: read_csv(jafgen_dir / "jaffle-data" / f"raw_{entity}.csv") for entity in ENTITIES}


IMPORT_SECONDS: list[float] = []


@pytest.fixture(scope="session")
def imported(jafgen_dir, tmp_path_factory) -> tuple[Path, ImportSummary]:
    landing = tmp_path_factory.mktemp("imported") / "landing"
    started = time.perf_counter()
    summary = import_jafgen(jafgen_dir, landing)
    IMPORT_SECONDS.append(time.perf_counter() - started)
    return landing, summary


def test_jafgen_writes_the_expected_columns(jafgen_input):
    """Guards the assumptions of the importer against a changed jafgen."""
    assert jafgen_input["customers"][0] == ["id", "name"]
    assert jafgen_input["orders"][0] == [
        "id", "customer", "ordered_at", "store_id", "subtotal", "tax_paid", "order_total",
    ]  # fmt: skip
    assert jafgen_input["items"][0] == ["id", "order_id", "sku"]
    assert jafgen_input["products"][0] == ["sku", "name", "type", "price", "description"]
    assert jafgen_input["stores"][0] == ["id", "name", "opened_at", "tax_rate"]
    assert jafgen_input["supplies"][0] == ["id", "name", "cost", "perishable", "sku"]
    assert len(jafgen_input["orders"][1]) > 50_000


def test_orders_land_once_in_their_date_batch(imported, jafgen_input):
    landing, _ = imported
    header_in, rows_in = jafgen_input["orders"]
    batches = landed(landing, "orders")
    seen: Counter[str] = Counter()
    for date, (header, rows) in batches.items():
        assert header == header_in + ["status", "updated_at"]
        assert rows, f"empty orders batch {date}"
        for row in rows:
            record = dict(zip(header, row, strict=True))
            assert record["ordered_at"][:10] == date.isoformat()
            assert record["status"] == "completed"
            assert record["updated_at"] == record["ordered_at"]
            seen[record["id"]] += 1
    assert len(seen) == len(rows_in)
    assert set(seen.values()) == {1}
    assert set(seen) == {row[0] for row in rows_in}


def test_order_values_and_row_order_untouched(imported, jafgen_input):
    """Every landed order equals its input row field by field, in jafgen's order within a batch."""
    landing, _ = imported
    _, rows_in = jafgen_input["orders"]
    expected: dict[dt.date, list[list[str]]] = {}
    for row in rows_in:
        expected.setdefault(dt.date.fromisoformat(row[2][:10]), []).append(row + ["completed", row[2]])
    assert {date: rows for date, (_, rows) in landed(landing, "orders").items()} == expected


def test_items_land_with_their_orders_date(imported, jafgen_input):
    landing, summary = imported
    header_in, rows_in = jafgen_input["items"]
    order_date = {row[0]: dt.date.fromisoformat(row[2][:10]) for row in jafgen_input["orders"][1]}
    expected: dict[dt.date, list[list[str]]] = {}
    for row in rows_in:
        expected.setdefault(order_date[row[1]], []).append(row)
    batches = landed(landing, "items")
    assert all(header == header_in for header, _ in batches.values())
    assert {date: rows for date, (_, rows) in batches.items() if rows} == expected
    assert set(batches) == set(landed(landing, "orders"))  # an items batch for every order date
    assert summary.orphan_items == 0


def test_static_entities_only_in_first_batch(imported, jafgen_input):
    landing, summary = imported
    for entity in STATIC:
        batches = landed(landing, entity)
        assert list(batches) == [summary.first_date], entity
        assert batches[summary.first_date] == jafgen_input[entity], entity  # header, values, row order
    assert summary.first_date == min(landed(landing, "orders"))


def test_manifests_count_every_input_row(imported, jafgen_input):
    landing, summary = imported
    totals: Counter[str] = Counter()
    batches = list(iter_batches(landing))
    for batch in batches:
        assert verify_batch(batch) == [], batch.key
        manifest = batch.manifest()
        assert manifest["producer"] == "jafgen-import"
        assert manifest["entity"] == batch.entity
        assert [f["name"] for f in manifest["files"]] == [ENTITY_FILES[batch.entity]]
        totals[batch.entity] += manifest["files"][0]["rows"]
    assert totals == {entity: len(jafgen_input[entity][1]) for entity in ENTITIES}
    assert summary.rows == sum(totals.values())
    assert summary.batches == len(batches)
    order_dates = sorted(landed(landing, "orders"))
    assert (summary.first_date, summary.last_date) == (order_dates[0], order_dates[-1])
    assert summary.batches == len(STATIC) + 2 * len(order_dates)
    assert not (landing / "tweets").exists()


def test_landed_files_use_lf_line_endings(imported):
    landing, _ = imported
    for entity in ENTITIES:
        for batch_path in (landing / entity).iterdir():
            assert b"\r" not in (batch_path / ENTITY_FILES[entity]).read_bytes()


def test_reimport_is_byte_identical(imported, jafgen_dir, tmp_path):
    landing, summary = imported
    before = tree_bytes(landing)
    # from the data directory itself rather than its parent, into a fresh landing dir ...
    other = tmp_path / "landing"
    assert import_jafgen(jafgen_dir / "jaffle-data", other) == summary
    assert tree_bytes(other) == before
    # ... and over the existing batches, which are swapped out for identical ones
    assert import_jafgen(jafgen_dir, landing, prefix="raw") == summary
    assert tree_bytes(landing) == before


def test_custom_prefix(jafgen_runs, tmp_path):
    run_dir = jafgen_runs[CUSTOM_PREFIX]
    assert (run_dir / "jaffle-data" / f"{CUSTOM_PREFIX}_orders.csv").is_file()
    _, orders_in = read_csv(run_dir / "jaffle-data" / f"{CUSTOM_PREFIX}_orders.csv")
    summary = import_jafgen(run_dir, tmp_path / "auto")
    assert summary == import_jafgen(run_dir / "jaffle-data", tmp_path / "explicit", prefix=CUSTOM_PREFIX)
    assert sum(len(rows) for _, rows in landed(tmp_path / "auto", "orders").values()) == len(orders_in)
    assert tree_bytes(tmp_path / "auto") == tree_bytes(tmp_path / "explicit")
    with pytest.raises(JafgenImportError, match="raw_orders.csv"):
        import_jafgen(run_dir, tmp_path / "wrong", prefix="raw")
    assert_nothing_landed(tmp_path / "wrong")


def test_import_speed(imported):
    # about 1.5 s for a jafgen year (73k orders, 107k items, 734 batches); generous for slow CI
    assert IMPORT_SECONDS[0] < 15


# --------------------------------------------------------------------------- hand-written deliveries

SYNTHETIC: dict[str, list[list[str]]] = {
    "customers": [["id", "name"], ["c1", "Ann O'Hara"], ["c2", "  spaced  "], ["c3", ""]],
    "orders": [
        ["id", "customer", "ordered_at", "store_id", "subtotal", "tax_paid", "order_total"],
        ["o3", "c1", "2020-01-03T09:00:00", "s1", "1100", "66", "1166"],
        ["o1", "c2", "2020-01-01T23:59:59", "s1", "600", "36", "636"],
        ["o2", "c1", "2020-01-03T08:00:00", "s1", "", "", ""],
        ["o4", "c3", "2020-01-01T07:30:00", "s1", "700", "42", "742"],
    ],
    "items": [
        ["id", "order_id", "sku"],
        ["i1", "o3", "JAF-001"],
        ["i2", "o1", "BEV-001"],
        ["i3", "gone", "BEV-002"],
        ["i4", "o3", "BEV-001"],
        ["i5", "o4", "JAF-001"],
    ],
    "products": [
        ["sku", "name", "type", "price", "description"],
        ["JAF-001", "flame impala", "jaffle", "1400", 'pulled pork, "ghost pepper" sauce '],
        ["BEV-001", "for richer or pourover ", "beverage", "700", ""],
    ],
    "stores": [["id", "name", "opened_at", "tax_rate"], ["s1", "Philadelphia", "2018-09-01T00:00:00", "0.06"]],
    "supplies": [
        ["id", "name", "cost", "perishable", "sku"],
        ["SUP-001", "cutlery - fork", "7", "False", "JAF-001"],
    ],
}


def write_delivery(directory: Path, prefix: str = "raw", tables: dict | None = None) -> Path:
    """Write a jafgen-like delivery the way jafgen does (csv module, CRLF); returns ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    for entity, rows in {**SYNTHETIC, "tweets": [["id", "user_id", "tweeted_at", "content"]], **(tables or {})}.items():
        if rows is None:
            continue
        with (directory / f"{prefix}_{entity}.csv").open("w", newline="", encoding="utf-8") as handle:
            csv.writer(handle).writerows(rows)
    return directory


@pytest.fixture
def landing(tmp_path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


def test_synthetic_delivery(tmp_path, landing, caplog):
    source = write_delivery(tmp_path / "jaffle-data")
    summary = import_jafgen(tmp_path, landing)
    first, last = dt.date(2020, 1, 1), dt.date(2020, 1, 3)
    assert summary == ImportSummary(
        batches=8, rows=3 + 4 + 5 + 2 + 1 + 1, first_date=first, last_date=last, orphan_items=1
    )
    assert "1 item(s)" in caplog.text

    orders = landed(landing, "orders")
    assert list(orders) == [first, last]  # no batch for the date without orders
    assert orders[first][1] == [
        ["o1", "c2", "2020-01-01T23:59:59", "s1", "600", "36", "636", "completed", "2020-01-01T23:59:59"],
        ["o4", "c3", "2020-01-01T07:30:00", "s1", "700", "42", "742", "completed", "2020-01-01T07:30:00"],
    ]
    assert orders[last][1] == [
        ["o3", "c1", "2020-01-03T09:00:00", "s1", "1100", "66", "1166", "completed", "2020-01-03T09:00:00"],
        ["o2", "c1", "2020-01-03T08:00:00", "s1", "", "", "", "completed", "2020-01-03T08:00:00"],
    ]
    items = landed(landing, "items")
    assert items[first][1] == [["i2", "o1", "BEV-001"], ["i3", "gone", "BEV-002"], ["i5", "o4", "JAF-001"]]
    assert items[last][1] == [["i1", "o3", "JAF-001"], ["i4", "o3", "BEV-001"]]
    for entity in STATIC:
        assert landed(landing, entity) == {first: (SYNTHETIC[entity][0], SYNTHETIC[entity][1:])}

    products = (landing / "products" / "2020-01-01" / "products.csv").read_bytes()
    assert products == (
        b"sku,name,type,price,description\n"
        b'JAF-001,flame impala,jaffle,1400,"pulled pork, ""ghost pepper"" sauce "\n'
        b"BEV-001,for richer or pourover ,beverage,700,\n"
    )
    assert (source / "raw_orders.csv").read_bytes().count(b"\r\n") == 5  # input untouched
    manifest = json.loads((landing / "items" / "2020-01-01" / MANIFEST_NAME).read_text())
    assert manifest["files"][0]["rows"] == 3


def test_delivered_status_and_updated_at_are_kept(tmp_path, landing):
    orders = [
        ["id", "status", "customer", "ordered_at", "store_id", "subtotal", "tax_paid", "order_total", "updated_at"],
        ["o1", "returned", "c1", "2020-01-01T10:00:00", "s1", "1", "0", "1", "2020-01-05T00:00:00"],
        ["o2", "", "c1", "2020-01-01T11:00:00", "s1", "1", "0", "1", ""],
    ]
    write_delivery(tmp_path, tables={"orders": orders, "items": [["id", "order_id", "sku"]]})
    import_jafgen(tmp_path, landing)
    header, rows = landed(landing, "orders")[dt.date(2020, 1, 1)]
    assert tuple(header) == ENTITY_COLUMNS["orders"]
    assert rows == [
        ["o1", "c1", "2020-01-01T10:00:00", "s1", "1", "0", "1", "returned", "2020-01-05T00:00:00"],
        ["o2", "c1", "2020-01-01T11:00:00", "s1", "1", "0", "1", "completed", "2020-01-01T11:00:00"],
    ]
    # no items at all: still an (empty) items batch next to the orders batch
    assert landed(landing, "items") == {dt.date(2020, 1, 1): (["id", "order_id", "sku"], [])}


def test_extra_columns_are_copied(tmp_path, landing):
    customers = [["id", "email", "name"], ["c1", "a@example.com", "Ann"]]
    write_delivery(tmp_path, tables={"customers": customers})
    import_jafgen(tmp_path, landing)
    assert landed(landing, "customers")[dt.date(2020, 1, 1)] == (customers[0], customers[1:])


def test_prefix_detection_in_both_places(tmp_path):
    write_delivery(tmp_path / "a" / "jaffle-data", prefix="my_shop")
    write_delivery(tmp_path / "b", prefix="")
    for source, prefix in ((tmp_path / "a", None), (tmp_path / "a" / "jaffle-data", "my_shop"), (tmp_path / "b", None)):
        assert import_jafgen(source, tmp_path / "landing" / source.name, prefix=prefix).batches == 8


# --------------------------------------------------------------------------- errors


def error_for(source: Path, landing: Path, prefix: str | None = None) -> str:
    with pytest.raises(JafgenImportError) as info:
        import_jafgen(source, landing, prefix=prefix)
    message = str(info.value)
    assert "\n" not in message
    assert_nothing_landed(landing)
    return message


def test_missing_directory(tmp_path, landing):
    assert str(tmp_path / "nope") in error_for(tmp_path / "nope", landing)


def test_missing_files_are_named(tmp_path, landing):
    write_delivery(tmp_path, tables={"items": None, "stores": None})
    message = error_for(tmp_path, landing)
    assert "raw_items.csv" in message and "raw_stores.csv" in message
    assert "raw_orders.csv" not in message


def test_empty_directory(tmp_path, landing):
    (tmp_path / "empty").mkdir()
    message = error_for(tmp_path / "empty", landing)
    assert all(f"raw_{entity}.csv" in message for entity in ENTITIES)


def test_error_leaves_missing_landing_uncreated(tmp_path):
    write_delivery(tmp_path / "src", tables={"items": None})
    error_for(tmp_path / "src", tmp_path / "landing")
    assert not (tmp_path / "landing").exists()


def test_missing_columns_are_named(tmp_path, landing):
    write_delivery(tmp_path, tables={"supplies": [["id", "name", "perishable"], ["SUP-1", "fork", "False"]]})
    message = error_for(tmp_path, landing)
    assert "raw_supplies.csv" in message and "cost" in message and "sku" in message


def test_header_only_missing_entirely(tmp_path, landing):
    write_delivery(tmp_path, tables={"stores": []})
    assert "raw_stores.csv" in error_for(tmp_path, landing)


@pytest.mark.parametrize("value", ["yesterday", "", "2020-13-01T00:00:00", "01/02/2020"])
def test_unparseable_ordered_at_names_file_and_line(tmp_path, landing, value):
    orders = [list(row) for row in SYNTHETIC["orders"]]
    orders[3][2] = value
    write_delivery(tmp_path, tables={"orders": orders})
    message = error_for(tmp_path, landing)
    assert "raw_orders.csv" in message and "line 4" in message and "ordered_at" in message


def test_ragged_row_names_file_and_line(tmp_path, landing):
    items = [*SYNTHETIC["items"][:3], ["i9", "o1"]]
    write_delivery(tmp_path, tables={"items": items})
    message = error_for(tmp_path, landing)
    assert "raw_items.csv" in message and "line 4" in message


def test_line_break_in_value_is_rejected(tmp_path, landing):
    customers = [["id", "name"], ["c1", "Ann\nSmith"]]
    write_delivery(tmp_path, tables={"customers": customers})
    message = error_for(tmp_path, landing)
    assert "raw_customers.csv" in message and "line 2" in message


def test_duplicate_order_id(tmp_path, landing):
    orders = [*SYNTHETIC["orders"], SYNTHETIC["orders"][1]]
    write_delivery(tmp_path, tables={"orders": orders})
    message = error_for(tmp_path, landing)
    assert "raw_orders.csv" in message and "line 6" in message and "o3" in message


def test_no_orders(tmp_path, landing):
    write_delivery(tmp_path, tables={"orders": SYNTHETIC["orders"][:1]})
    assert "raw_orders.csv" in error_for(tmp_path, landing)


def test_ambiguous_prefixes(tmp_path, landing):
    write_delivery(tmp_path, prefix="raw")
    write_delivery(tmp_path, prefix="old")
    message = error_for(tmp_path, landing)
    assert "'old'" in message and "'raw'" in message
    assert import_jafgen(tmp_path, landing, prefix="old").batches == 8


def test_error_in_late_file_lands_nothing(tmp_path, landing):
    """The static entities would land first; a bad order further down must still stop everything."""
    orders = [list(row) for row in SYNTHETIC["orders"]]
    orders[-1][2] = "not a date"
    write_delivery(tmp_path, tables={"orders": orders})
    error_for(tmp_path, landing)
