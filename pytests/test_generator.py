"""Tests for orchestration.generator: determinism, the landing contract, referential sanity, noise."""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from orchestration.generator import (
    COLUMNS,
    LOOKBACK_DAYS,
    NOISE_KEYS,
    PRICES,
    STORES,
    UNKNOWN_SKU,
    GenerateOptions,
    GeneratorOptionError,
    NoiseOptions,
    generate,
)
from orchestration.landing import ENTITY_FILES, MANIFEST_NAME, iter_batches, verify_batch

START = dt.date(2024, 3, 1)
DAYS = 6
UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
TS_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
NOISY = NoiseOptions(late_event_rate=0.1, duplicate_rate=0.05, customer_update_rate=0.05, malformed_rate=0.05)
DAILY = ("customers", "orders", "items", "events")


def days(start: dt.date = START, n: int = DAYS) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(n)]


def options(**overrides) -> GenerateOptions:
    base = dict(start=START, days=DAYS, seed=7, orders_per_day=300, initial_customers=100, new_customers_per_day=10)
    base.update(overrides)
    return GenerateOptions(**base)


def file_of(landing: Path, entity: str, day: dt.date) -> Path:
    return landing / entity / day.isoformat() / ENTITY_FILES[entity]


def manifest(landing: Path, entity: str, day: dt.date) -> dict:
    return json.loads((landing / entity / day.isoformat() / MANIFEST_NAME).read_text())


def read_rows(landing: Path, entity: str, day: dt.date) -> list[dict]:
    path = file_of(landing, entity, day)
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def header(landing: Path, entity: str, day: dt.date) -> list[str]:
    with file_of(landing, entity, day).open(newline="") as handle:
        return next(csv.reader(handle))


def parse_ts(text: str | None) -> dt.datetime | None:
    if not text or not TS_RE.match(text):
        return None
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None


def all_files(landing: Path) -> dict[str, bytes]:
    return {str(p.relative_to(landing)): p.read_bytes() for p in sorted(landing.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def clean(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("clean") / "landing"
    generate(landing, options(noise=NoiseOptions.none(), new_column_from=START + dt.timedelta(days=3)))
    return landing


@pytest.fixture(scope="module")
def noisy(tmp_path_factory) -> Path:
    landing = tmp_path_factory.mktemp("noisy") / "landing"
    generate(landing, options(noise=NOISY))
    return landing


@pytest.fixture(scope="module")
def store_info(clean) -> tuple[dict[str, dt.date], dict[str, Decimal]]:
    rows = read_rows(clean, "stores", START)
    opened = {r["id"]: dt.datetime.fromisoformat(r["opened_at"]).date() for r in rows}
    tax = {r["id"]: Decimal(r["tax_rate"]) for r in rows}
    return opened, tax


# --- determinism --------------------------------------------------------------------------------


def test_same_options_give_identical_bytes(tmp_path):
    generate(tmp_path / "a", options(days=3))
    generate(tmp_path / "b", options(days=3))
    a, b = all_files(tmp_path / "a"), all_files(tmp_path / "b")
    assert a.keys() == b.keys()
    assert a == b


def test_different_seed_differs(tmp_path):
    generate(tmp_path / "a", options(days=2, seed=1))
    generate(tmp_path / "b", options(days=2, seed=2))
    for entity in DAILY:
        a, b = file_of(tmp_path / "a", entity, START), file_of(tmp_path / "b", entity, START)
        assert a.read_bytes() != b.read_bytes()
    # Reference data does not depend on the seed.
    a, b = file_of(tmp_path / "a", "stores", START), file_of(tmp_path / "b", "stores", START)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("split", [2, LOOKBACK_DAYS + 2])
def test_split_ranges_equal_one_range(tmp_path, split):
    total = LOOKBACK_DAYS + 4
    noise = NOISY  # late events, next-day duplicates and CDC updates all cross batch boundaries
    generate(tmp_path / "one", options(days=total, noise=noise))
    generate(tmp_path / "two", options(days=split, noise=noise, world_start=START))
    generate(
        tmp_path / "two",
        options(start=START + dt.timedelta(days=split), days=total - split, noise=noise, world_start=START),
    )
    one, two = all_files(tmp_path / "one"), all_files(tmp_path / "two")
    assert one.keys() == two.keys()
    different = [name for name in one if one[name] != two[name]]
    assert different == []


@pytest.mark.parametrize("workers", [2, 3])
def test_worker_processes_give_identical_bytes(tmp_path, workers):
    """Splitting the days over worker processes (each re-simulating its lead-in) changes no byte."""
    noise = NOISY
    generate(tmp_path / "one", options(days=LOOKBACK_DAYS + 3, noise=noise, workers=1))
    summary = generate(tmp_path / "many", options(days=LOOKBACK_DAYS + 3, noise=noise, workers=workers))
    one, many = all_files(tmp_path / "one"), all_files(tmp_path / "many")
    assert one.keys() == many.keys()
    assert [name for name in one if one[name] != many[name]] == []
    assert summary.batches == len(list(iter_batches(tmp_path / "many")))


def test_worker_processes_with_lead_in_and_progress(tmp_path, capsys):
    generate(tmp_path / "one", options(days=6, world_start=START, workers=1))
    later = START + dt.timedelta(days=2)
    generate(tmp_path / "two", options(start=later, days=4, world_start=START, workers=2), progress=True)
    assert "4/4" in capsys.readouterr().err
    one, two = all_files(tmp_path / "one"), all_files(tmp_path / "two")
    assert two and all(one[name] == data for name, data in two.items())


def test_day_by_day_extension_equals_one_range(tmp_path):
    generate(tmp_path / "one", options(days=4))
    for i in range(4):
        generate(tmp_path / "daily", options(start=START + dt.timedelta(days=i), days=1, world_start=START))
    assert all_files(tmp_path / "one") == all_files(tmp_path / "daily")


@pytest.mark.parametrize("block_days", [1, 2, 3])
def test_block_size_changes_no_byte(tmp_path, monkeypatch, block_days):
    """Days are simulated in blocks (one statement per entity for several days); batches are the
    same bytes whatever the block boundaries, with and without a lead-in, across schema drift."""
    import orchestration.generator as generator

    kwargs = dict(days=LOOKBACK_DAYS + 2, noise=NOISY, workers=1, new_column_from=START + dt.timedelta(days=3))
    generate(tmp_path / "one", options(**kwargs))
    later = START + dt.timedelta(days=LOOKBACK_DAYS)
    generate(tmp_path / "lead", options(**{**kwargs, "start": later, "days": 2, "world_start": START}))
    monkeypatch.setattr(generator, "_BLOCK_ORDERS", 300 * block_days)  # options() has 300 orders a day
    generate(tmp_path / "blocks", options(**kwargs))
    generate(tmp_path / "blocks_lead", options(**{**kwargs, "start": later, "days": 2, "world_start": START}))
    one, blocks = all_files(tmp_path / "one"), all_files(tmp_path / "blocks")
    assert one.keys() == blocks.keys()
    assert [name for name in one if one[name] != blocks[name]] == []
    lead, blocks_lead = all_files(tmp_path / "lead"), all_files(tmp_path / "blocks_lead")
    assert lead and lead == blocks_lead
    assert all(one[name] == data for name, data in lead.items())


def test_no_scratch_files_left_in_landing(tmp_path):
    generate(tmp_path / "landing", options(days=2, workers=2))
    assert sorted(p.name for p in (tmp_path / "landing").iterdir()) == sorted(
        {"stores", "products", "supplies", *DAILY}
    )


# --- the landing contract ------------------------------------------------------------------------


def test_manifests_match_files_and_summary(tmp_path):
    summary = generate(tmp_path / "l", options(days=3))
    batches = list(iter_batches(tmp_path / "l"))
    assert summary.batches == len(batches) == 3 * 4 + 3
    total = 0
    for batch in batches:
        assert verify_batch(batch) == []
        m = batch.manifest()
        assert m["producer"] == "strata-generator"
        (entry,) = m["files"]
        path = batch.path / entry["name"]
        lines = path.read_text().splitlines()
        data_rows = len(lines) - (1 if path.suffix == ".csv" else 0)
        assert entry["rows"] == data_rows
        total += data_rows
    assert summary.rows == total
    assert summary.seconds > 0


def test_reference_batches_only_on_world_start(tmp_path):
    generate(tmp_path / "l", options(start=START + dt.timedelta(days=2), days=2, world_start=START))
    assert not (tmp_path / "l" / "stores").exists()
    generate(tmp_path / "m", options(days=2))
    for entity in ("stores", "products", "supplies"):
        assert [p.name for p in (tmp_path / "m" / entity).iterdir()] == [START.isoformat()]


def test_columns_exactly(clean):
    for entity in ("stores", "products", "supplies"):
        assert header(clean, entity, START) == list(COLUMNS[entity])
    for day in days():
        for entity in ("customers", "items"):
            assert header(clean, entity, day) == list(COLUMNS[entity])
        for line in file_of(clean, "events", day).read_text().splitlines():
            assert list(json.loads(line)) == list(COLUMNS["events"])


def test_drift_column_only_from_new_column_from(clean):
    drift_from = START + dt.timedelta(days=3)
    for day in days():
        expected = list(COLUMNS["orders"]) + (["channel"] if day >= drift_from else [])
        assert header(clean, "orders", day) == expected
        if day >= drift_from:
            assert {r["channel"] for r in read_rows(clean, "orders", day)} == {"online", "in_store"}


def test_csv_format(clean):
    raw = file_of(clean, "orders", START).read_bytes()
    assert b"\r\n" not in raw and raw.endswith(b"\n")
    raw.decode("utf-8")


def test_reference_data(clean):
    stores = read_rows(clean, "stores", START)
    assert [s["name"] for s in stores] == [
        "Philadelphia",
        "Brooklyn",
        "Chicago",
        "San Francisco",
        "New Orleans",
        "Los Angeles",
    ]
    assert all(UUID_RE.match(s["id"]) for s in stores)
    products = read_rows(clean, "products", START)
    assert [p["sku"] for p in products] == [f"JAF-00{i}" for i in range(1, 6)] + [f"BEV-00{i}" for i in range(1, 6)]
    assert {p["type"] for p in products[:5]} == {"jaffle"} and {p["type"] for p in products[5:]} == {"beverage"}
    assert all(int(p["price"]) > 0 for p in products)
    supplies = read_rows(clean, "supplies", START)
    per_id = Counter(s["id"] for s in supplies)
    assert 20 <= len(per_id) <= 30 and all(1 <= n <= 10 for n in per_id.values())
    assert all(int(s["cost"]) > 0 and s["perishable"] in ("True", "False") for s in supplies)
    assert {s["sku"] for s in supplies} <= {p["sku"] for p in products}


def test_two_stores_open_on_earliest_world_start():
    assert sum(s.opened_at <= dt.date(2016, 9, 1) for s in STORES) >= 2


# --- referential sanity without noise ------------------------------------------------------------


def test_orders_reference_existing_customers_and_open_stores(clean, store_info):
    opened, _ = store_info
    known: set[str] = set()
    for day in days():
        customers = read_rows(clean, "customers", day)
        assert all(UUID_RE.match(c["id"]) for c in customers)
        assert all(parse_ts(c["updated_at"]).date() == day for c in customers)
        known |= {c["id"] for c in customers}
        orders = read_rows(clean, "orders", day)
        for order in orders:
            assert UUID_RE.match(order["id"])
            assert order["customer"] in known
            ordered_at = parse_ts(order["ordered_at"])
            assert opened[order["store_id"]] <= ordered_at.date()
            assert dt.time(7) <= ordered_at.time() <= dt.time(21)
            assert order["status"] in {"placed", "completed", "cancelled", "returned"}
            assert parse_ts(order["updated_at"]) >= ordered_at


def test_order_volume_and_customer_growth(clean):
    for day in days():
        first_versions = [o for o in read_rows(clean, "orders", day) if o["updated_at"] == o["ordered_at"]]
        assert 270 <= len(first_versions) <= 330
    assert len(read_rows(clean, "customers", START)) == 100 + 10
    assert len(read_rows(clean, "customers", START + dt.timedelta(days=1))) == 10


def test_loyal_customers_order_repeatedly(clean):
    per_customer = Counter(
        o["customer"] for day in days() for o in read_rows(clean, "orders", day) if o["updated_at"] == o["ordered_at"]
    )
    assert sum(1 for n in per_customer.values() if n >= 3) >= 20


def test_order_versions_are_cdc(clean):
    versions = defaultdict(list)
    for day in days():
        for order in read_rows(clean, "orders", day):
            versions[order["id"]].append((day, order))
            assert parse_ts(order["updated_at"]).date() == day
    statuses = Counter()
    for history in versions.values():
        first_day, first = history[0]
        if first_day + dt.timedelta(days=2) > START + dt.timedelta(days=DAYS - 1):
            continue  # history not complete within the generated window
        path = [o["status"] for _, o in history]
        statuses[tuple(path)] += 1
        assert path in (
            ["completed"],
            ["placed", "completed"],
            ["placed", "cancelled"],
            ["completed", "returned"],
            ["placed", "completed", "returned"],
        )
        assert len({(o["subtotal"], o["customer"], o["ordered_at"]) for _, o in history}) == 1
    total = sum(statuses.values())
    online = (
        statuses[("placed", "completed")]
        + statuses[("placed", "cancelled")]
        + statuses[("placed", "completed", "returned")]
    )
    assert 0.33 < online / total < 0.47
    assert statuses[("placed", "cancelled")] > 0
    assert statuses[("completed", "returned")] + statuses[("placed", "completed", "returned")] > 0


def test_items_and_totals_add_up(clean, store_info):
    _, tax = store_info
    for day in days():
        items = read_rows(clean, "items", day)
        assert all(i["sku"] in PRICES for i in items)
        per_order = defaultdict(list)
        for item in items:
            per_order[item["order_id"]].append(item["sku"])
        first_versions = [o for o in read_rows(clean, "orders", day) if o["updated_at"] == o["ordered_at"]]
        assert {o["id"] for o in first_versions} == set(per_order)
        assert all(1 <= len(skus) <= 5 for skus in per_order.values())
        sizes = Counter(len(skus) for skus in per_order.values())
        assert sizes[1] + sizes[2] > sizes[3] + sizes[4] + sizes[5]
        for order in first_versions:
            subtotal = sum(PRICES[s] for s in per_order[order["id"]])
            assert int(order["subtotal"]) == subtotal
            expected_tax = int((Decimal(subtotal) * tax[order["store_id"]]).quantize(Decimal(1), ROUND_HALF_UP))
            assert int(order["tax_paid"]) == expected_tax
            assert int(order["order_total"]) == subtotal + expected_tax


def test_events_of_converting_sessions(clean):
    events = [e for day in days() for e in read_rows(clean, "events", day)]
    orders: dict[str, dict] = {}
    for day in days():
        for order in read_rows(clean, "orders", day):
            orders.setdefault(order["id"], order)  # first version
    online_orders = {oid for oid, o in orders.items() if o["status"] == "placed"}
    by_device = defaultdict(list)
    for event in events:
        assert UUID_RE.match(event["event_id"]) and UUID_RE.match(event["anonymous_id"])
        assert event["event_type"] in {"page_view", "product_view", "add_to_cart", "checkout_started", "order_placed"}
        if event["event_type"] in ("page_view", "product_view", "add_to_cart"):
            assert event["customer_id"] is None
        else:
            assert UUID_RE.match(event["customer_id"])
        if event["event_type"] in ("product_view", "add_to_cart"):
            assert event["sku"] in PRICES and event["page_path"] == f"/products/{event['sku']}"
        else:
            assert event["sku"] is None
        assert (event["order_id"] is not None) == (event["event_type"] == "order_placed")
        by_device[event["anonymous_id"]].append(event)
    placed = [e for e in events if e["event_type"] == "order_placed"]
    # Every online order of the window has exactly one order_placed event, carrying its customer.
    placed_ids = Counter(e["order_id"] for e in placed)
    assert set(placed_ids) == online_orders and set(placed_ids.values()) == {1}
    for event in placed:
        order = orders[event["order_id"]]
        assert event["customer_id"] == order["customer"]
        assert event["occurred_at"] == order["ordered_at"]
    # Sessions: sorted by time per device, a converting session ends checkout_started -> order_placed,
    # starts with a page_view, and has no gap of 30 minutes or more.
    sessions = []
    for device_events in by_device.values():
        device_events.sort(key=lambda e: (e["occurred_at"], e["event_id"]))
        current = [device_events[0]]
        for prev, event in zip(device_events, device_events[1:], strict=False):
            if parse_ts(event["occurred_at"]) - parse_ts(prev["occurred_at"]) >= dt.timedelta(minutes=30):
                sessions.append(current)
                current = []
            current.append(event)
        sessions.append(current)
    converting = [s for s in sessions if any(e["event_type"] == "order_placed" for e in s)]
    # Loyal customers may order twice within half an hour; their sessions merge, most do not.
    assert len(converting) >= 0.7 * len(placed)
    for session in converting:
        if len([e for e in session if e["event_type"] == "order_placed"]) > 1:
            continue  # same customer ordered twice within 30 minutes: sessions merge
        assert session[0]["event_type"] == "page_view"
        assert [e["event_type"] for e in session[-2:]] == ["checkout_started", "order_placed"]
        assert all(e["customer_id"] is None for e in session[:-2])
    non_converting = len(sessions) - len(converting)
    assert 1.5 * len(placed) < non_converting < 2.5 * len(placed)
    assert any(e["event_type"] == "add_to_cart" for s in sessions if s not in converting for e in s)
    # Some sessions span midnight.
    assert any(parse_ts(s[0]["occurred_at"]).date() != parse_ts(s[-1]["occurred_at"]).date() for s in sessions)


def test_events_land_in_the_batch_of_collection_without_noise(clean):
    for day in days():
        for event in read_rows(clean, "events", day):
            collected, occurred = parse_ts(event["collected_at"]), parse_ts(event["occurred_at"])
            assert collected.date() == day
            assert dt.timedelta(0) <= collected - occurred <= dt.timedelta(seconds=5)


# --- noise ----------------------------------------------------------------------------------------


def test_no_noise_means_none_in_files_or_manifests(clean):
    for day in days():
        for entity in DAILY:
            noise = manifest(clean, entity, day)["noise"]
            assert list(noise) == sorted(NOISE_KEYS[entity])
            assert {k: v for k, v in noise.items() if k != "order_updates"} == dict.fromkeys(
                (k for k in noise if k != "order_updates"), 0
            )
            lines = file_of(clean, entity, day).read_text().splitlines()
            assert len(lines) == len(set(lines))
            key = "event_id" if entity == "events" else "id"
            assert all(r[key] for r in read_rows(clean, entity, day))
    ids_seen = Counter(c["id"] for day in days() for c in read_rows(clean, "customers", day))
    assert set(ids_seen.values()) == {1}


def _is_malformed(entity: str, row: dict, store_ids: set[str]) -> bool:
    key = row["event_id"] if entity == "events" else row["id"]
    if not key:
        return True
    if entity == "orders":
        return parse_ts(row["ordered_at"]) is None or int(row["subtotal"]) < 0 or row["store_id"] not in store_ids
    if entity == "items":
        return row["sku"] == UNKNOWN_SKU
    if entity == "events":
        return parse_ts(row["occurred_at"]) is None or row["sku"] == UNKNOWN_SKU
    return False


def _freeze(row: dict) -> tuple:
    return tuple(row.items())


def test_noise_counts_match_files(noisy, store_info):
    opened, _ = store_info
    store_ids = set(opened)
    totals = Counter()
    customers_seen: set[str] = set()
    previous: dict[str, set] = {e: set() for e in DAILY}
    for day in days():
        for entity in DAILY:
            noise = manifest(noisy, entity, day)["noise"]
            assert list(noise) == sorted(NOISE_KEYS[entity])
            rows = read_rows(noisy, entity, day)
            real = [r for r in rows if not _is_malformed(entity, r, store_ids)]
            malformed = [r for r in rows if _is_malformed(entity, r, store_ids)]
            key = "event_id" if entity == "events" else "id"
            expected = Counter()
            for row in malformed:
                if not row[key]:
                    expected["malformed_null_key"] += 1
                elif (
                    entity in ("orders", "events")
                    and parse_ts(row["ordered_at" if entity == "orders" else "occurred_at"]) is None
                ):
                    expected["malformed_bad_timestamp"] += 1
                elif entity == "orders" and int(row["subtotal"]) < 0:
                    expected["malformed_negative_amount"] += 1
                elif entity == "orders":
                    expected["malformed_unknown_store"] += 1
                else:
                    expected["malformed_unknown_sku"] += 1
            frozen = [_freeze(r) for r in real]
            distinct = set(frozen)
            expected["duplicates"] = len(frozen) - len(distinct) + len(distinct & previous[entity])
            fresh = [dict(r) for r in distinct - previous[entity]]
            if entity == "orders":
                expected["order_updates"] = sum(r["updated_at"] != r["ordered_at"] for r in fresh)
            if entity == "customers":
                expected["customer_updates"] = sum(r["id"] in customers_seen for r in fresh)
                customers_seen |= {r["id"] for r in real}
            if entity == "events":
                late = [
                    r for r in fresh if parse_ts(r["collected_at"]) - parse_ts(r["occurred_at"]) >= dt.timedelta(days=1)
                ]
                expected["late_events"] = len(late)
            assert noise == {k: expected[k] for k in NOISE_KEYS[entity]}, (entity, day)
            totals.update({f"{entity}.{k}": v for k, v in noise.items()})
            previous[entity] = distinct
    # Every kind of noise is present somewhere.
    for entity in DAILY:
        for key in NOISE_KEYS[entity]:
            assert totals[f"{entity}.{key}"] > 0, f"{entity}.{key}"


def test_malformed_rows_are_extra_copies(noisy, clean):
    """Real data stays complete: removing malformed rows leaves every real record."""
    for day in days()[:2]:
        rows = read_rows(noisy, "items", day)
        good = [r for r in rows if r["id"] and r["sku"] != UNKNOWN_SKU]
        bad = [r for r in rows if not (r["id"] and r["sku"] != UNKNOWN_SKU)]
        good_ids = {r["id"] for r in good}
        good_orders = {r["order_id"] for r in good}
        assert bad
        for row in bad:
            assert row["order_id"] in good_orders
            if row["id"]:
                assert row["id"] in good_ids  # unknown sku copy of a real item


def test_late_events_are_one_to_three_days_late(noisy):
    late = 0
    for day in days():
        for event in read_rows(noisy, "events", day):
            occurred, collected = parse_ts(event["occurred_at"]), parse_ts(event["collected_at"])
            if occurred is None:
                continue
            assert collected.date() in (day, day - dt.timedelta(days=1))  # next-day duplicates
            delay = collected - occurred
            if delay >= dt.timedelta(days=1):
                late += 1
                assert delay <= dt.timedelta(days=3)
                assert 1 <= (collected.date() - occurred.date()).days <= 3
            else:
                assert delay <= dt.timedelta(seconds=5)
    assert late > 0


def test_customer_updates_change_email(noisy):
    first_seen: dict[str, dict] = {}
    changed = 0
    for day in days():
        for row in read_rows(noisy, "customers", day):
            if not row["id"]:
                continue
            if row["id"] in first_seen and row != first_seen[row["id"]]:
                assert row["email"] != first_seen[row["id"]]["email"]
                assert parse_ts(row["updated_at"]).date() == day
                changed += 1
            first_seen.setdefault(row["id"], row)
    assert changed > 0


@pytest.mark.parametrize("kind", ["late_event_rate", "duplicate_rate", "customer_update_rate", "malformed_rate"])
def test_each_noise_kind_switches_alone(tmp_path, kind):
    noise = NoiseOptions(**{**NoiseOptions.none().__dict__, kind: 0.2})
    generate(tmp_path / "l", options(days=3, orders_per_day=100, noise=noise))
    totals = Counter()
    for day in days(n=3):
        for entity in DAILY:
            totals.update(manifest(tmp_path / "l", entity, day)["noise"])
    owned = {
        "late_event_rate": {"late_events"},
        "duplicate_rate": {"duplicates"},
        "customer_update_rate": {"customer_updates"},
        "malformed_rate": {k for k in totals if k.startswith("malformed_")},
    }[kind]
    assert owned and all(totals[k] > 0 for k in owned)
    assert all(v == 0 for k, v in totals.items() if k not in owned | {"order_updates"})


def test_default_noise_is_on():
    assert NoiseOptions().late_event_rate == 0.02 and NoiseOptions().malformed_rate == 0.005
    assert NoiseOptions.none() == NoiseOptions(0.0, 0.0, 0.0, 0.0)


# --- options ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "name"),
    [
        ({"days": 0}, "days"),
        ({"days": -3}, "days"),
        ({"orders_per_day": 0}, "orders_per_day"),
        ({"initial_customers": 0}, "initial_customers"),
        ({"new_customers_per_day": -1}, "new_customers_per_day"),
        ({"seed": "42"}, "seed"),
        ({"start": "2024-03-01"}, "start"),
        ({"world_start": START + dt.timedelta(days=1)}, "world_start"),
        ({"world_start": dt.date(2015, 1, 1), "start": dt.date(2015, 1, 1)}, "world_start"),
        ({"new_column_from": "2024-03-02"}, "new_column_from"),
        ({"noise": NoiseOptions(late_event_rate=-0.1)}, "late_event_rate"),
        ({"noise": NoiseOptions(duplicate_rate=1.5)}, "duplicate_rate"),
        ({"noise": NoiseOptions(customer_update_rate=float("nan"))}, "customer_update_rate"),
        ({"noise": NoiseOptions(malformed_rate=2)}, "malformed_rate"),
        ({"workers": 0}, "workers"),
        ({"workers": "2"}, "workers"),
    ],
)
def test_invalid_options_name_the_option(tmp_path, overrides, name):
    with pytest.raises(GeneratorOptionError, match=name) as error:
        generate(tmp_path / "l", options(**overrides))
    assert isinstance(error.value, ValueError)
    assert not (tmp_path / "l").exists()


def test_progress_bar_on_stderr(tmp_path, capsys):
    generate(tmp_path / "l", options(days=2, orders_per_day=50), progress=True)
    captured = capsys.readouterr()
    assert "2/2" in captured.err and captured.out == ""
