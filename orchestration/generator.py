"""Synthetic source data for the jaffle shop café chain, landed as daily batches.

Everything is generated with SQL in an in-memory DuckDB connection and written with ``COPY``:
randomness is ``hash(hash(seed, stream, day, index))`` turned into uniform floats, so every value
is a pure function of (seed, world_start, the day it originates on, entity, index). Records that
originate on one day but land in a later batch (next-day order status changes, events of sessions
that span midnight, late events, next-day duplicates) are produced by the day they originate on;
to write batch D the generator therefore re-simulates the ``LOOKBACK_DAYS`` days before the first
requested day. Batch D's bytes depend only on (seed, world_start, D, the other options), whether
the history is generated in one call or day by day.

See ``docs/generator.md`` for the data contract.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import json
import math
import sys
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
from tqdm import tqdm

from orchestration.landing import ENTITY_FILES, MANIFEST_NAME, BatchWriter

PRODUCER = "strata-generator"

# The earliest supported world_start: Philadelphia and Brooklyn open on it, so orders always
# have at least two open stores.
EARLIEST_WORLD_START = dt.date(2016, 9, 1)

# How far back a record can land from the day it originates on: a session starting just before
# midnight has events on the next day (+1), a late event is collected up to 3 days later (+3) and
# its duplicate copy may arrive in the following batch (+1). Orders need at most +3.
LOOKBACK_DAYS = 5

MAX_ORDERS_PER_DAY = 10_000_000
MAX_CUSTOMERS = 100_000_000
ONLINE_SHARE = 0.40
ANON_SESSIONS_PER_ONLINE_ORDER = 2
CANCEL_SHARE_OF_ONLINE = 0.075  # ~3% of all orders
RETURN_SHARE = 0.02
NAME_CHANGE_SHARE = 0.2  # of customer updates, the share that also changes the name

BAD_TIMESTAMPS = ("2024-13-45T99:00:00", "not-a-date")
UNKNOWN_SKU = "ZZZ-999"

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_KEY_SPACE = 1_000_000_000  # k = origin_ordinal * _KEY_SPACE + index within the day
_ANON_KEY_BASE = 500_000_000

# Random streams: one id per purpose so that draws are independent.
S_CUSTOMER_ID = 1
S_ORDER_ID = 2
S_ITEM_ID = 3
S_EVENT_ID = 4
S_DEVICE = 5
S_VISITOR = 6
S_STORE_UNKNOWN = 7
S_CUST_FIRST, S_CUST_LAST, S_CUST_DOMAIN, S_CUST_TIME = 10, 11, 12, 13
S_CUST_UPDATE, S_CUST_NAME_CHANGE, S_CUST_ALT_LAST, S_CUST_EMAIL, S_CUST_UPD_TIME = 14, 15, 16, 17, 18
S_DAY_VOLUME = 20
S_ORDER_CUSTOMER, S_ORDER_STORE, S_ORDER_TIME, S_ORDER_ONLINE, S_ORDER_ITEMS = 21, 22, 23, 24, 25
S_ORDER_FATE, S_ORDER_RETURN, S_ORDER_T1, S_ORDER_T2, S_ORDER_LOYAL = 26, 27, 28, 29, 30
S_ITEM_SKU = 31
S_SESSION_GAP, S_EVENT_JITTER, S_LANDING_PAGE, S_ANON_START, S_ANON_DEPTH, S_ANON_CART = 40, 41, 42, 43, 44, 45
S_EVENT_SKU, S_EVENT_LATE, S_EVENT_DELAY = 46, 47, 48
S_DUP = 60  # + entity offset
S_DUP_DAY = 70
S_MALFORMED = 80
S_MALFORMED_KIND = 90
S_MALFORMED_TS = 100

ENTITY_OFFSET = {"customers": 0, "orders": 1, "items": 2, "events": 3}


class GeneratorOptionError(ValueError):
    """An invalid generator option; the message names the option."""


@dataclass(frozen=True)
class NoiseOptions:
    late_event_rate: float = 0.02  # share of events collected 1-3 days after they occurred
    duplicate_rate: float = 0.01  # share of records delivered twice (same batch or next day's batch)
    customer_update_rate: float = 0.01  # share of existing customers whose profile changes on a day
    malformed_rate: float = 0.005  # share of extra malformed rows per entity

    @classmethod
    def none(cls) -> NoiseOptions:
        return cls(late_event_rate=0.0, duplicate_rate=0.0, customer_update_rate=0.0, malformed_rate=0.0)


@dataclass(frozen=True)
class GenerateOptions:
    start: dt.date
    days: int
    seed: int = 42
    orders_per_day: int = 1000
    initial_customers: int = 500
    new_customers_per_day: int = 25
    world_start: dt.date | None = None  # defaults to start
    new_column_from: dt.date | None = None  # schema drift: orders gain `channel` from this batch date on
    noise: NoiseOptions = field(default_factory=NoiseOptions)


@dataclass(frozen=True)
class GenerateSummary:
    batches: int
    rows: int  # data rows written over all files (no headers)
    seconds: float


# ---------------------------------------------------------------------------------------------
# Reference data (seed independent)

@dataclass(frozen=True)
class Store:
    name: str
    opened_at: dt.date
    tax_rate: str  # decimal text, e.g. "0.0625"

    @property
    def id(self) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"strata/jaffle-shop/store/{self.name}"))

    @property
    def tax_per_10k(self) -> int:
        return round(float(self.tax_rate) * 10_000)

    def open_on(self, day: dt.date) -> bool:
        return self.opened_at <= day


STORES: tuple[Store, ...] = (
    Store("Philadelphia", dt.date(2016, 9, 1), "0.06"),
    Store("Brooklyn", dt.date(2016, 9, 1), "0.04"),
    Store("Chicago", dt.date(2017, 3, 12), "0.0625"),
    Store("San Francisco", dt.date(2018, 4, 29), "0.075"),
    Store("New Orleans", dt.date(2019, 3, 10), "0.04"),
    Store("Los Angeles", dt.date(2019, 9, 13), "0.08"),
)

# sku, name, type, price (cents), description
PRODUCTS: tuple[tuple[str, str, str, int, str], ...] = (
    ("JAF-001", "Classic Cheese & Ham", "jaffle", 1100, "Toasted sourdough, aged cheddar and smoked ham."),
    ("JAF-002", "Mushroom Melt", "jaffle", 1200, "Roasted mushrooms, gruyere and thyme butter."),
    ("JAF-003", "Spiced Lamb", "jaffle", 1400, "Slow-cooked lamb with harissa and mint yoghurt."),
    ("JAF-004", "Tomato & Basil", "jaffle", 1000, "Heirloom tomatoes, mozzarella and basil pesto."),
    ("JAF-005", "Banana Choc", "jaffle", 900, "Banana, dark chocolate and a pinch of sea salt."),
    ("BEV-001", "Flat White", "beverage", 450, "Double ristretto with silky steamed milk."),
    ("BEV-002", "Cold Brew", "beverage", 500, "Steeped for eighteen hours, served over ice."),
    ("BEV-003", "Chai Latte", "beverage", 550, "House-spiced chai with steamed milk."),
    ("BEV-004", "Fresh Orange Juice", "beverage", 600, "Squeezed to order."),
    ("BEV-005", "Sparkling Water", "beverage", 400, "Mineral water, lightly sparkling."),
)
SKUS = tuple(p[0] for p in PRODUCTS)
PRICES = {p[0]: p[3] for p in PRODUCTS}

# id, name, cost (cents), perishable, skus
_SUPPLY_NAMES = (
    ("sourdough bread", 45, True), ("cheddar", 60, True), ("smoked ham", 80, True), ("mushrooms", 55, True),
    ("gruyere", 90, True), ("thyme butter", 20, True), ("lamb shoulder", 150, True), ("harissa", 25, False),
    ("mint yoghurt", 30, True), ("tomatoes", 35, True), ("mozzarella", 70, True), ("basil pesto", 40, True),
    ("banana", 15, True), ("dark chocolate", 50, False), ("sea salt", 2, False), ("coffee beans", 35, False),
    ("milk", 12, True), ("chai spice", 18, False), ("oranges", 60, True), ("sparkling water", 30, False),
    ("ice", 3, False), ("takeaway cup", 8, False), ("cup lid", 3, False), ("napkin", 1, False),
    ("paper bag", 5, False),
)


def _supply_rows() -> list[tuple[str, str, int, str, str]]:
    """One row per (supply id, sku); each supply is used by 1 to 10 skus, fixed forever."""
    recipes = {
        "sourdough bread": SKUS[:5], "cheddar": ("JAF-001",), "smoked ham": ("JAF-001",),
        "mushrooms": ("JAF-002",), "gruyere": ("JAF-002",), "thyme butter": SKUS[:5],
        "lamb shoulder": ("JAF-003",), "harissa": ("JAF-003",), "mint yoghurt": ("JAF-003",),
        "tomatoes": ("JAF-004",), "mozzarella": ("JAF-004",), "basil pesto": ("JAF-004",),
        "banana": ("JAF-005",), "dark chocolate": ("JAF-005", "BEV-003"), "sea salt": ("JAF-001", "JAF-005"),
        "coffee beans": ("BEV-001", "BEV-002"), "milk": ("BEV-001", "BEV-003"), "chai spice": ("BEV-003",),
        "oranges": ("BEV-004",), "sparkling water": ("BEV-005",), "ice": ("BEV-002", "BEV-004"),
        "takeaway cup": SKUS[5:], "cup lid": SKUS[5:9], "napkin": SKUS, "paper bag": SKUS[:5],
    }
    rows = []
    for number, (name, cost, perishable) in enumerate(_SUPPLY_NAMES, start=1):
        for sku in recipes[name]:
            rows.append((f"SUP-{number:03d}", name, cost, str(perishable), sku))
    return rows


FIRST_NAMES = (
    "Ava", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Hugo", "Isla", "Jack", "Kira", "Liam",
    "Maya", "Noah", "Olivia", "Priya", "Quinn", "Ravi", "Sofia", "Theo", "Uma", "Victor", "Wen", "Xavier",
    "Yara", "Zoe", "Amir", "Bea", "Carlos", "Dina", "Elif", "Finn", "Gabriel", "Hana", "Ivan", "Jun",
)
LAST_NAMES = (
    "Anderson", "Baker", "Chen", "Diaz", "Evans", "Fischer", "Garcia", "Hughes", "Ito", "Johnson", "Kim",
    "Lopez", "Murphy", "Nguyen", "Okafor", "Patel", "Quinn", "Rossi", "Smith", "Tanaka", "Usman", "Volkov",
    "Walker", "Xu", "Young", "Zhang", "Berg", "Costa", "Dubois", "Novak",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
LANDING_PAGES = ("/", "/", "/menu", "/menu", "/locations", "/promo/spring-jaffles", "/promo/happy-hour", "/about")

ORDER_COLUMNS = ("id", "customer", "ordered_at", "store_id", "subtotal", "tax_paid", "order_total", "status",
                 "updated_at")
EVENT_COLUMNS = ("event_id", "anonymous_id", "customer_id", "event_type", "occurred_at", "collected_at",
                 "page_path", "sku", "order_id")
COLUMNS: dict[str, tuple[str, ...]] = {
    "stores": ("id", "name", "opened_at", "tax_rate"),
    "products": ("sku", "name", "type", "price", "description"),
    "supplies": ("id", "name", "cost", "perishable", "sku"),
    "customers": ("id", "name", "email", "updated_at"),
    "orders": ORDER_COLUMNS,  # + "channel" from new_column_from on
    "items": ("id", "order_id", "sku"),
    "events": EVENT_COLUMNS,
}

# Manifest noise keys per entity; every key is always written (0 when none).
NOISE_KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_updates", "duplicates", "malformed_null_key"),
    "orders": ("order_updates", "duplicates", "malformed_null_key", "malformed_bad_timestamp",
               "malformed_negative_amount", "malformed_unknown_store"),
    "items": ("duplicates", "malformed_null_key", "malformed_unknown_sku"),
    "events": ("late_events", "duplicates", "malformed_null_key", "malformed_bad_timestamp",
               "malformed_unknown_sku"),
}


# ---------------------------------------------------------------------------------------------
# Validation

def _check_rate(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise GeneratorOptionError(f"noise.{name} must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise GeneratorOptionError(f"noise.{name} must be between 0 and 1, got {value!r}")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GeneratorOptionError(f"{name} must be an integer, got {value!r}")
    if not low <= value <= high:
        raise GeneratorOptionError(f"{name} must be between {low} and {high}, got {value}")


def _check_date(name: str, value: object) -> None:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise GeneratorOptionError(f"{name} must be a date, got {value!r}")


def validate_options(options: GenerateOptions) -> None:
    """Raise GeneratorOptionError naming the first invalid option."""
    if not isinstance(options, GenerateOptions):
        raise GeneratorOptionError(f"options must be GenerateOptions, got {type(options).__name__}")
    _check_date("start", options.start)
    _check_int("days", options.days, 1, 36_500)
    _check_int("seed", options.seed, -(2**63), 2**63 - 1)
    _check_int("orders_per_day", options.orders_per_day, 1, MAX_ORDERS_PER_DAY)
    _check_int("initial_customers", options.initial_customers, 1, MAX_CUSTOMERS)
    _check_int("new_customers_per_day", options.new_customers_per_day, 0, 1_000_000)
    world_start = options.world_start if options.world_start is not None else options.start
    if options.world_start is not None:
        _check_date("world_start", options.world_start)
    if world_start < EARLIEST_WORLD_START:
        raise GeneratorOptionError(
            f"world_start must be on or after {EARLIEST_WORLD_START} (no stores open before), got {world_start}")
    if options.start < world_start:
        raise GeneratorOptionError(f"start ({options.start}) must not be before world_start ({world_start})")
    if options.new_column_from is not None:
        _check_date("new_column_from", options.new_column_from)
    try:
        end = options.start + dt.timedelta(days=options.days - 1)
    except OverflowError:
        raise GeneratorOptionError("days reaches beyond the year 9999") from None
    days_total = (end - world_start).days + 1
    if options.initial_customers + options.new_customers_per_day * days_total > MAX_CUSTOMERS:
        raise GeneratorOptionError(f"new_customers_per_day too large: more than {MAX_CUSTOMERS} customers")
    if not isinstance(options.noise, NoiseOptions):
        raise GeneratorOptionError(f"noise must be NoiseOptions, got {type(options.noise).__name__}")
    for name in ("late_event_rate", "duplicate_rate", "customer_update_rate", "malformed_rate"):
        _check_rate(name, getattr(options.noise, name))


# ---------------------------------------------------------------------------------------------
# SQL helpers

def _sql_list(values) -> str:
    return "[" + ", ".join(_sql_str(v) if isinstance(v, str) else str(int(v)) for v in values) + "]"


def _sql_str(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _epoch(ordinal: int) -> int:
    return (ordinal - _EPOCH_ORDINAL) * 86_400


_STATUSES = ("placed", "completed", "cancelled", "returned")  # codes 1..4
_EVENT_TYPES = ("page_view", "product_view", "add_to_cart", "checkout_started", "order_placed")  # codes 1..5
# Malformed kinds per entity; the `mal` column holds the 1-based index (0 = a real row).
MALFORMED_KINDS: dict[str, tuple[str, ...]] = {
    "customers": ("null_key",),
    "orders": ("null_key", "bad_timestamp", "negative_amount", "unknown_store"),
    "items": ("null_key", "unknown_sku"),
    "events": ("null_key", "bad_timestamp", "unknown_sku"),
}
_SEQ_CAP = 50_000_000  # largest index table kept in memory; beyond it range() is used directly


class _World:
    """The simulation: one DuckDB connection and narrow integer tables per origin day.

    Origin-day tables hold one row per record (plus duplicate and malformed copies) with the batch
    day it lands in (`deliver`), and only the numbers needed to rebuild it: ids, names and
    timestamps are formatted while writing, from the same hash functions. No statement sorts:
    every table is built by filtered scans of a single table and the batch file is a UNION ALL of
    filtered scans, all of which DuckDB guarantees to keep in order, so the bytes are stable.
    """

    def __init__(self, options: GenerateOptions):
        self.o = options
        self.noise = options.noise
        self.world_start = options.world_start if options.world_start is not None else options.start
        self.ws = self.world_start.toordinal()
        self.con = duckdb.connect(":memory:")
        self.days: set[int] = set()
        seed = int(options.seed)
        n_max = math.ceil(options.orders_per_day * 1.1) + 1
        slots = max(n_max * 13, n_max * 5 * 2, options.initial_customers + options.new_customers_per_day)
        self.seq = "seq" if slots <= _SEQ_CAP else f"range({slots}) r(i)"
        customers = self.o.initial_customers + self.o.new_customers_per_day
        c = self.con
        c.execute(f"""
            CREATE MACRO h(s, d, i) AS hash(hash({seed}::BIGINT, (s)::BIGINT, (d)::BIGINT, (i)::BIGINT));
            CREATE MACRO rnd(s, d, i) AS (h(s, d, i) >> 11)::DOUBLE * 1.1102230246251565e-16;
            CREATE MACRO pick(s, d, i, n) AS 1 + floor(rnd(s, d, i) * (n))::INTEGER;
            CREATE MACRO uid(s, d, i) AS
                (((h(s, d, i)::UHUGEINT << 64) | h((s) + 1000, d, i)::UHUGEINT)::UUID)::VARCHAR;
            CREATE MACRO ts(x) AS strftime(make_timestamp((x)::BIGINT * 1000000), '%Y-%m-%dT%H:%M:%S');
            CREATE MACRO day_epoch(o) AS ((o) - {_EPOCH_ORDINAL})::BIGINT * 86400;
            CREATE MACRO o_online(o, j) AS rnd({S_ORDER_ONLINE}, o, j) < {ONLINE_SHARE};
            CREATE MACRO o_nitems(o, j) AS 1 + (rnd({S_ORDER_ITEMS}, o, j) >= 0.45)::INTEGER
                + (rnd({S_ORDER_ITEMS}, o, j) >= 0.75)::INTEGER + (rnd({S_ORDER_ITEMS}, o, j) >= 0.88)::INTEGER
                + (rnd({S_ORDER_ITEMS}, o, j) >= 0.96)::INTEGER;
            CREATE MACRO o_time(o, j) AS
                day_epoch(o) + 25200 + floor(rnd({S_ORDER_TIME}, o, j) * 50400)::BIGINT;
            CREATE MACRO o_cidx(o, j, ncust) AS (CASE WHEN rnd({S_ORDER_LOYAL}, o, j) < 0.5
                THEN floor(rnd({S_ORDER_CUSTOMER}, o, j) * greatest(1, (ncust) // 5))
                ELSE floor(rnd({S_ORDER_CUSTOMER}, o, j) * (ncust)) END)::BIGINT;
            CREATE MACRO item_sku(o, j, i) AS pick({S_ITEM_SKU}, o, (j) * 8 + (i), {len(SKUS)});
            CREATE MACRO gap(o, key) AS 20 + floor(rnd({S_SESSION_GAP}, o, key) * 280)::BIGINT;
            CREATE MACRO anon_npv(o, s) AS floor(rnd({S_ANON_DEPTH}, o, s) * 4)::INTEGER;
            CREATE MACRO anon_atc(o, s) AS (anon_npv(o, s) > 0 AND rnd({S_ANON_CART}, o, s) < 0.35)::INTEGER;
            CREATE MACRO c_created(idx) AS (CASE WHEN (idx) < {customers} THEN 0
                ELSE ((idx) - {self.o.initial_customers}) // {max(self.o.new_customers_per_day, 1)} END);
        """)
        if self.seq == "seq":
            c.execute(f"CREATE TABLE seq AS SELECT range AS i FROM range({slots})")

    def customers_by(self, offset: int) -> int:
        """Customers created up to and including world day `offset` (0 = world_start)."""
        return self.o.initial_customers + self.o.new_customers_per_day * (offset + 1)

    def orders_on(self, ordinal: int) -> int:
        jitter = self.con.execute(f"SELECT rnd({S_DAY_VOLUME}, {ordinal}, 0)").fetchall()[0][0]
        return max(1, round(self.o.orders_per_day * (0.9 + 0.2 * jitter)))

    def _noise_copies(self, entity: str, table: str, kinds_count: str) -> None:
        """Append duplicate copies, then malformed copies, of the real rows of `table`."""
        off = ENTITY_OFFSET[entity]
        if self.noise.duplicate_rate > 0:
            self.con.execute(f"""
                INSERT INTO {table}
                SELECT * REPLACE (deliver + (rnd({S_DUP_DAY}, {off}, k) < 0.5)::INTEGER AS deliver, 1 AS copy)
                FROM {table} WHERE copy = 0 AND mal = 0 AND rnd({S_DUP + off}, 0, k) < {self.noise.duplicate_rate!r}
            """)
        if self.noise.malformed_rate > 0:
            self.con.execute(f"""
                INSERT INTO {table}
                SELECT * REPLACE (pick({S_MALFORMED_KIND + off}, 0, k, {kinds_count}) AS mal)
                FROM {table}
                WHERE copy = 0 AND mal = 0 AND rnd({S_MALFORMED + off}, 0, k) < {self.noise.malformed_rate!r}
            """)

    # -- one origin day ----------------------------------------------------------------------

    def simulate(self, o: int) -> None:
        """Materialize every record originating on day `o`, each with the batch day it lands in."""
        off = o - self.ws
        n = self.orders_on(o)
        ncust = self.customers_by(off)
        seq, con, ks = self.seq, self.con, _KEY_SPACE
        day = dt.date.fromordinal(o)
        open_stores = _sql_list(i + 1 for i, s in enumerate(STORES) if s.open_on(day))
        n_open = sum(1 for s in STORES if s.open_on(day))

        # Customers: created today, then profile updates of customers created before today.
        lo = 0 if off == 0 else self.customers_by(off - 1)
        con.execute(f"""
            CREATE OR REPLACE TABLE customers_{o} AS
            SELECT {o}::BIGINT * {ks} + i * 2 AS k, i AS idx, false AS upd, false AS renamed,
                   day_epoch({o}) + floor(rnd({S_CUST_TIME}, 0, i) * 25200)::BIGINT AS updated_at,
                   {o} AS deliver, 0 AS copy, 0 AS mal
            FROM {seq} WHERE i >= {lo} AND i < {ncust}
        """)
        rate = self.noise.customer_update_rate
        if rate > 0 and lo > 0:
            # Each customer changes name at most once, on a geometric day after creation (itself an
            # update); other updates change only the email. Closed form: no history needed.
            p = NAME_CHANGE_SHARE * rate
            log_keep = math.log1p(-p)
            rename_off = f"(c_created(i) + 1 + floor(ln(1.0 - rnd({S_CUST_NAME_CHANGE}, 0, i)) / {log_keep!r})::BIGINT)"
            con.execute(f"""
                INSERT INTO customers_{o}
                SELECT {o}::BIGINT * {ks} + i * 2 + 1, i, true, {rename_off} <= {off},
                       day_epoch({o}) + floor(rnd({S_CUST_UPD_TIME}, {o}, i) * 86400)::BIGINT, {o}, 0, 0
                FROM {seq}
                WHERE i < {lo} AND ({rename_off} = {off}
                                    OR rnd({S_CUST_UPDATE}, {o}, i) < {(1 - NAME_CHANGE_SHARE) * rate!r})
            """)
        self._noise_copies("customers", f"customers_{o}", 1)

        # Orders: one row per order, then its CDC versions.
        sku_prices = self.price_list
        subtotal = " + ".join(
            f"(CASE WHEN o_nitems({o}, i) > {x} THEN {sku_prices}[item_sku({o}, i, {x})] ELSE 0 END)" for x in range(5))
        tax = _sql_list(s.tax_per_10k for s in STORES)
        con.execute(f"""
            CREATE OR REPLACE TABLE ob AS
            SELECT i AS j, o_cidx({o}, i, {ncust}) AS cidx,
                   {open_stores}[pick({S_ORDER_STORE}, {o}, i, {n_open})] AS store,
                   o_time({o}, i) AS ordered_at, o_online({o}, i) AS online,
                   o_online({o}, i) AND rnd({S_ORDER_FATE}, {o}, i) < {CANCEL_SHARE_OF_ONLINE} AS cancelled,
                   NOT (o_online({o}, i) AND rnd({S_ORDER_FATE}, {o}, i) < {CANCEL_SHARE_OF_ONLINE})
                       AND rnd({S_ORDER_RETURN}, {o}, i) < {RETURN_SHARE} AS returned,
                   {subtotal} AS subtotal
            FROM {seq} WHERE i < {n}
        """)
        e0 = _epoch(o)
        con.execute(f"""
            CREATE OR REPLACE TABLE orders_{o} AS
            SELECT {o}::BIGINT * {ks} + j * 4 AS k, j, 0 AS v, cidx, store, ordered_at, subtotal,
                   (subtotal * {tax}[store] + 5000) // 10000 AS tax_paid, online,
                   CASE WHEN online THEN 1 ELSE 2 END AS status, ordered_at AS updated_at,
                   {o} AS deliver, 0 AS copy, 0 AS mal
            FROM ob
            UNION ALL
            SELECT {o}::BIGINT * {ks} + j * 4 + 1, j, 1, cidx, store, ordered_at, subtotal,
                   (subtotal * {tax}[store] + 5000) // 10000, online, CASE WHEN cancelled THEN 3 ELSE 2 END,
                   {e0 + 86400} + floor(rnd({S_ORDER_T1}, {o}, j) * 86400)::BIGINT, {o + 1}, 0, 0
            FROM ob WHERE online
            UNION ALL
            SELECT {o}::BIGINT * {ks} + j * 4 + 2, j, 2, cidx, store, ordered_at, subtotal,
                   (subtotal * {tax}[store] + 5000) // 10000, online, 4,
                   {e0 + 2 * 86400} + floor(rnd({S_ORDER_T2}, {o}, j) * 86400)::BIGINT, {o + 2}, 0, 0
            FROM ob WHERE returned
        """)
        self._noise_copies("orders", f"orders_{o}", 4)

        con.execute(f"""
            CREATE OR REPLACE TABLE items_{o} AS
            SELECT {o}::BIGINT * {ks} + (i // 5) * 8 + i % 5 AS k, i // 5 AS j, i % 5 AS x,
                   item_sku({o}, i // 5, i % 5) AS sku, {o} AS deliver, 0 AS copy, 0 AS mal
            FROM {seq} WHERE i < {n * 5} AND i % 5 < o_nitems({o}, i // 5)
        """)
        self._noise_copies("items", f"items_{o}", 2)

        # Events. A converting session of online order j has m = 2 * items + 3 events: page_view,
        # (product_view, add_to_cart) per item, checkout_started, order_placed at ordered_at. The
        # gap G in [20 s, 300 s) plus jitter < G/2 keeps events ordered and < 30 min apart.
        n_anon = round(n * ONLINE_SHARE * ANON_SESSIONS_PER_ONLINE_ORDER)
        visitor_pool = max(100, 20 * self.o.orders_per_day)
        late_rate = self.noise.late_event_rate
        n_pages = len(LANDING_PAGES)
        conv = f"""
            SELECT i // 13 AS j, i % 13 AS e, 2 * o_nitems({o}, i // 13) + 3 AS m FROM {seq}
            WHERE i < {n * 13} AND o_online({o}, i // 13) AND i % 13 < 2 * o_nitems({o}, i // 13) + 3
        """
        con.execute(f"""
            CREATE OR REPLACE TABLE ev AS
            SELECT j * 16 + e AS key, true AS conv, o_cidx({o}, j, {ncust}) AS who, j, e,
                   CASE WHEN e = 0 THEN 1 WHEN e = m - 1 THEN 5 WHEN e = m - 2 THEN 4
                        WHEN e % 2 = 1 THEN 2 ELSE 3 END AS etype,
                   o_time({o}, j) - (m - 1 - e) * gap({o}, j)
                       + CASE WHEN e < m - 1
                              THEN floor(rnd({S_EVENT_JITTER}, {o}, j * 16 + e) * gap({o}, j) / 2)::BIGINT
                              ELSE 0 END AS occurred_at,
                   CASE WHEN e > 0 AND e < m - 2 THEN item_sku({o}, j, (e - 1) // 2) END AS sku,
                   pick({S_LANDING_PAGE}, {o}, j, {n_pages}) AS page
            FROM ({conv})
        """)
        anon = f"""
            SELECT i // 5 AS s, i % 5 AS e, anon_npv({o}, i // 5) AS npv FROM {seq}
            WHERE i < {n_anon * 5} AND i % 5 < 1 + anon_npv({o}, i // 5) + anon_atc({o}, i // 5)
        """
        akey = f"{_ANON_KEY_BASE} + s * 16 + e"
        con.execute(f"""
            INSERT INTO ev
            SELECT {akey}, false, floor(rnd({S_VISITOR}, {o}, s) * {visitor_pool})::BIGINT, s, e,
                   CASE WHEN e = 0 THEN 1 WHEN e <= npv THEN 2 ELSE 3 END,
                   day_epoch({o}) + floor(rnd({S_ANON_START}, {o}, s) * 86400)::BIGINT
                       + e * gap({o}, {_ANON_KEY_BASE} + s)
                       + floor(rnd({S_EVENT_JITTER}, {o}, {akey}) * gap({o}, {_ANON_KEY_BASE} + s) / 2)::BIGINT,
                   CASE WHEN e > 0 THEN pick({S_EVENT_SKU}, {o}, s * 16 + least(e, npv), {len(SKUS)}) END,
                   pick({S_LANDING_PAGE}, {o}, {_ANON_KEY_BASE} + s, {n_pages})
            FROM ({anon})
        """)
        con.execute(f"""
            CREATE OR REPLACE TABLE events_{o} AS
            SELECT {o}::BIGINT * {ks} + key AS k, * EXCLUDE (key, late, delay), occurred_at + delay AS collected_at,
                   late, ({_EPOCH_ORDINAL} + (occurred_at + delay) // 86400)::INTEGER AS deliver, 0 AS copy, 0 AS mal
            FROM (SELECT *, rnd({S_EVENT_LATE}, {o}, key) < {late_rate!r} AS late,
                         CASE WHEN rnd({S_EVENT_LATE}, {o}, key) < {late_rate!r}
                              THEN 86400 + floor(rnd({S_EVENT_DELAY}, {o}, key) * 172800)::BIGINT
                              ELSE floor(rnd({S_EVENT_DELAY}, {o}, key) * 6)::BIGINT END AS delay
                  FROM ev)
        """)
        self._noise_copies("events", f"events_{o}", "CASE WHEN sku IS NULL THEN 2 ELSE 3 END")
        self.days.add(o)

    def forget_before(self, ordinal: int) -> None:
        """Drop origin-day tables that can no longer land in batch `ordinal` or later."""
        for o in sorted(self.days):
            if o < ordinal - LOOKBACK_DAYS:
                for entity in ENTITY_OFFSET:
                    self.con.execute(f"DROP TABLE IF EXISTS {entity}_{o}")
                self.days.discard(o)

    # -- writing batches ---------------------------------------------------------------------

    def _sources(self, d: int) -> list[int]:
        # Every day from max(world_start, first requested day - LOOKBACK_DAYS) on is simulated.
        return list(range(max(self.ws, d - LOOKBACK_DAYS), d + 1))

    def _copy(self, con, entity: str, d: int, select: str, path: Path, fmt: str) -> None:
        """COPY the UNION ALL of `select` (formatted per origin day `{o}`) over the origin tables."""
        parts = [select.format(o=o) + f" FROM {entity}_{o} WHERE deliver = {d}" for o in self._sources(d)]
        con.execute(f"COPY ({' UNION ALL '.join(parts)}) TO '{path}' ({fmt})")

    def _noise_counts(self, con, entity: str, d: int, extra: dict[str, str],
                      flags: tuple[str, ...] = ()) -> dict[str, int]:
        exprs = {"duplicates": "copy = 1", **extra}
        for number, kind in enumerate(MALFORMED_KINDS[entity], start=1):
            exprs[f"malformed_{kind}"] = f"mal = {number}"
        columns = ", ".join(("copy", "mal", *flags))
        union = " UNION ALL ".join(f"SELECT {columns} FROM {entity}_{o} WHERE deliver = {d}" for o in self._sources(d))
        select = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in exprs.values())
        values = con.execute(f"SELECT {select} FROM ({union})").fetchall()[0]
        counts = dict(zip(exprs, (int(v) for v in values), strict=True))
        return {key: counts[key] for key in NOISE_KEYS[entity]}

    def _bad_ts(self, entity: str) -> str:
        stream = S_MALFORMED_TS + ENTITY_OFFSET[entity]
        return f"{_sql_list(BAD_TIMESTAMPS)}[pick({stream}, 0, k, {len(BAD_TIMESTAMPS)})]"

    def write_customers(self, writer: BatchWriter, d: int, con=None) -> None:
        con = con or self.con
        first, last, domains = _sql_list(FIRST_NAMES), _sql_list(LAST_NAMES), _sql_list(EMAIL_DOMAINS)
        fn = f"{first}[pick({S_CUST_FIRST}, 0, idx, {len(FIRST_NAMES)})]"
        ln = (f"{last}[pick(CASE WHEN renamed THEN {S_CUST_ALT_LAST} ELSE {S_CUST_LAST} END, 0, idx,"
              f" {len(LAST_NAMES)})]")
        dom = f"{domains}[pick({S_CUST_DOMAIN}, 0, idx, {len(EMAIL_DOMAINS)})]"
        select = f"""
            SELECT CASE WHEN mal = 1 THEN NULL ELSE uid({S_CUSTOMER_ID}, 0, idx) END AS id,
                   {fn} || ' ' || {ln} AS name,
                   lower({fn}) || '.' || lower({ln})
                       || CASE WHEN upd THEN (h({S_CUST_EMAIL}, {{o}}, idx) % 10000)::VARCHAR ELSE '.' || idx END
                       || '@' || {dom} AS email,
                   ts(updated_at) AS updated_at
        """
        self._copy(con, "customers", d, select, writer.path_for(ENTITY_FILES["customers"]), "FORMAT csv, HEADER")
        writer.noise = self._noise_counts(con, "customers", d, {"customer_updates": "copy = 0 AND mal = 0 AND upd"},
                                          ("upd",))

    def write_orders(self, writer: BatchWriter, d: int, con=None) -> None:
        con = con or self.con
        drift = self.o.new_column_from is not None and d >= self.o.new_column_from.toordinal()
        store_ids = _sql_list(s.id for s in STORES)
        select = f"""
            SELECT CASE WHEN mal = 1 THEN NULL ELSE uid({S_ORDER_ID}, {{o}}, j) END AS id,
                   uid({S_CUSTOMER_ID}, 0, cidx) AS customer,
                   CASE WHEN mal = 2 THEN {self._bad_ts('orders')} ELSE ts(ordered_at) END AS ordered_at,
                   CASE WHEN mal = 4 THEN uid({S_STORE_UNKNOWN}, 0, k) ELSE {store_ids}[store] END AS store_id,
                   CASE WHEN mal = 3 THEN -subtotal ELSE subtotal END AS subtotal,
                   tax_paid, subtotal + tax_paid AS order_total,
                   {_sql_list(_STATUSES)}[status] AS status, ts(updated_at) AS updated_at
                   {", CASE WHEN online THEN 'online' ELSE 'in_store' END AS channel" if drift else ""}
        """
        self._copy(con, "orders", d, select, writer.path_for(ENTITY_FILES["orders"]), "FORMAT csv, HEADER")
        writer.noise = self._noise_counts(con, "orders", d, {"order_updates": "copy = 0 AND mal = 0 AND v > 0"}, ("v",))

    def write_items(self, writer: BatchWriter, d: int, con=None) -> None:
        con = con or self.con
        select = f"""
            SELECT CASE WHEN mal = 1 THEN NULL ELSE uid({S_ITEM_ID}, {{o}}, j * 8 + x) END AS id,
                   uid({S_ORDER_ID}, {{o}}, j) AS order_id,
                   CASE WHEN mal = 2 THEN '{UNKNOWN_SKU}' ELSE {self.sku_list}[sku] END AS sku
        """
        self._copy(con, "items", d, select, writer.path_for(ENTITY_FILES["items"]), "FORMAT csv, HEADER")
        writer.noise = self._noise_counts(con, "items", d, {})

    def write_events(self, writer: BatchWriter, d: int, con=None) -> None:
        con = con or self.con
        skus = self.sku_list
        select = f"""
            SELECT CASE WHEN mal = 1 THEN NULL
                        ELSE uid({S_EVENT_ID}, {{o}}, k - {{o}}::BIGINT * {_KEY_SPACE}) END AS event_id,
                   CASE WHEN conv THEN uid({S_DEVICE}, 0, who) ELSE uid({S_VISITOR}, 0, who) END AS anonymous_id,
                   CASE WHEN etype >= 4 THEN uid({S_CUSTOMER_ID}, 0, who) END AS customer_id,
                   {_sql_list(_EVENT_TYPES)}[etype] AS event_type,
                   CASE WHEN mal = 2 THEN {self._bad_ts('events')} ELSE ts(occurred_at) END AS occurred_at,
                   ts(collected_at) AS collected_at,
                   CASE etype WHEN 1 THEN {_sql_list(LANDING_PAGES)}[page] WHEN 4 THEN '/checkout'
                              WHEN 5 THEN '/checkout/confirmation' ELSE '/products/' || {skus}[sku] END AS page_path,
                   CASE WHEN mal = 3 THEN '{UNKNOWN_SKU}' ELSE {skus}[sku] END AS sku,
                   CASE WHEN etype = 5 THEN uid({S_ORDER_ID}, {{o}}, j) END AS order_id
        """
        self._copy(con, "events", d, select, writer.path_for(ENTITY_FILES["events"]), "FORMAT json")
        writer.noise = self._noise_counts(con, "events", d, {"late_events": "copy = 0 AND mal = 0 AND late"}, ("late",))

    @property
    def sku_list(self) -> str:
        return _sql_list(SKUS)

    @property
    def price_list(self) -> str:
        return _sql_list(PRICES[s] for s in SKUS)

    def close(self) -> None:
        self.con.close()



def _write_reference(landing: Path, day: dt.date) -> list[Path]:
    """stores, products and supplies: only in the batch of world_start."""
    tables = {
        "stores": [(s.id, s.name, f"{s.opened_at.isoformat()}T00:00:00", s.tax_rate) for s in STORES],
        "products": list(PRODUCTS),
        "supplies": _supply_rows(),
    }
    written = []
    for entity, rows in tables.items():
        with BatchWriter(landing, entity, day, producer=PRODUCER) as batch:
            path = batch.path_for(ENTITY_FILES[entity])
            with path.open("w", newline="", encoding="utf-8") as handle:
                out = csv.writer(handle, lineterminator="\n")
                out.writerow(COLUMNS[entity])
                out.writerows(rows)
            batch.noise = {}
        written.append(landing / entity / day.isoformat())
    return written


def _manifest_rows(batch_path: Path) -> int:
    manifest = json.loads((batch_path / MANIFEST_NAME).read_text())
    return sum(entry["rows"] for entry in manifest["files"])


def generate(landing: Path, options: GenerateOptions, progress: bool = False) -> GenerateSummary:
    """Write the batches of days [start, start + days) under `landing`; see docs/generator.md.

    Events (the largest file) are written by a worker thread on a second DuckDB cursor while the
    main thread simulates the next day and writes the CSV batches; each COPY reads only tables
    that no longer change, so the output does not depend on the interleaving.
    """
    validate_options(options)
    began = time.perf_counter()
    landing = Path(landing)
    world = _World(options)
    events_con = world.con.cursor()
    first = options.start.toordinal()
    last = first + options.days - 1
    batches = rows = 0

    def write_batch(entity: str, d: int, con) -> int:
        day = dt.date.fromordinal(d)
        with BatchWriter(landing, entity, day, producer=PRODUCER) as batch:
            getattr(world, f"write_{entity}")(batch, d, con)
        return _manifest_rows(landing / entity / day.isoformat())

    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="strata-events")
    pending: Future | None = None
    try:
        for o in range(max(world.ws, first - LOOKBACK_DAYS), first):
            world.simulate(o)
        with tqdm(total=options.days, disable=not progress, file=sys.stderr, unit="day", desc="generating") as bar:
            for d in range(first, last + 1):
                world.simulate(d)
                if d == world.ws:
                    written = _write_reference(landing, dt.date.fromordinal(d))
                    batches += len(written)
                    rows += sum(_manifest_rows(p) for p in written)
                for entity in ("customers", "orders", "items"):
                    rows += write_batch(entity, d, world.con)
                    batches += 1
                if pending is not None:
                    rows += pending.result()
                    batches += 1
                    bar.update(1)
                world.forget_before(d)  # the events of day d - 1 were the last reader of day d - 1 - LOOKBACK
                pending = executor.submit(write_batch, "events", d, events_con)
            if pending is not None:
                rows += pending.result()
                batches += 1
                pending = None
                bar.update(1)
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):  # the original error is already propagating
                pending.result()
        executor.shutdown(wait=True)
        events_con.close()
        world.close()
    return GenerateSummary(batches=batches, rows=rows, seconds=time.perf_counter() - began)
