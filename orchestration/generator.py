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

import csv
import datetime as dt
import json
import math
import os
import pickle
import shutil
import subprocess
import sys
import time
import traceback
import uuid
from dataclasses import dataclass, field
from multiprocessing import connection as mp_connection
from pathlib import Path

import duckdb
from tqdm import tqdm

from orchestration.landing import ENTITY_COLUMNS, ENTITY_FILES, MANIFEST_NAME, BatchWriter

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
    # Worker processes (None: one per CPU for large calls, else 1). Does not change any output byte.
    workers: int | None = None


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
    ("sourdough bread", 45, True),
    ("cheddar", 60, True),
    ("smoked ham", 80, True),
    ("mushrooms", 55, True),
    ("gruyere", 90, True),
    ("thyme butter", 20, True),
    ("lamb shoulder", 150, True),
    ("harissa", 25, False),
    ("mint yoghurt", 30, True),
    ("tomatoes", 35, True),
    ("mozzarella", 70, True),
    ("basil pesto", 40, True),
    ("banana", 15, True),
    ("dark chocolate", 50, False),
    ("sea salt", 2, False),
    ("coffee beans", 35, False),
    ("milk", 12, True),
    ("chai spice", 18, False),
    ("oranges", 60, True),
    ("sparkling water", 30, False),
    ("ice", 3, False),
    ("takeaway cup", 8, False),
    ("cup lid", 3, False),
    ("napkin", 1, False),
    ("paper bag", 5, False),
)


def _supply_rows() -> list[tuple[str, str, int, str, str]]:
    """One row per (supply id, sku); each supply is used by 1 to 10 skus, fixed forever."""
    recipes = {
        "sourdough bread": SKUS[:5],
        "cheddar": ("JAF-001",),
        "smoked ham": ("JAF-001",),
        "mushrooms": ("JAF-002",),
        "gruyere": ("JAF-002",),
        "thyme butter": SKUS[:5],
        "lamb shoulder": ("JAF-003",),
        "harissa": ("JAF-003",),
        "mint yoghurt": ("JAF-003",),
        "tomatoes": ("JAF-004",),
        "mozzarella": ("JAF-004",),
        "basil pesto": ("JAF-004",),
        "banana": ("JAF-005",),
        "dark chocolate": ("JAF-005", "BEV-003"),
        "sea salt": ("JAF-001", "JAF-005"),
        "coffee beans": ("BEV-001", "BEV-002"),
        "milk": ("BEV-001", "BEV-003"),
        "chai spice": ("BEV-003",),
        "oranges": ("BEV-004",),
        "sparkling water": ("BEV-005",),
        "ice": ("BEV-002", "BEV-004"),
        "takeaway cup": SKUS[5:],
        "cup lid": SKUS[5:9],
        "napkin": SKUS,
        "paper bag": SKUS[:5],
    }
    rows = []
    for number, (name, cost, perishable) in enumerate(_SUPPLY_NAMES, start=1):
        for sku in recipes[name]:
            rows.append((f"SUP-{number:03d}", name, cost, str(perishable), sku))
    return rows


FIRST_NAMES = (
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kira",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Priya",
    "Quinn",
    "Ravi",
    "Sofia",
    "Theo",
    "Uma",
    "Victor",
    "Wen",
    "Xavier",
    "Yara",
    "Zoe",
    "Amir",
    "Bea",
    "Carlos",
    "Dina",
    "Elif",
    "Finn",
    "Gabriel",
    "Hana",
    "Ivan",
    "Jun",
)
LAST_NAMES = (
    "Anderson",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Johnson",
    "Kim",
    "Lopez",
    "Murphy",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quinn",
    "Rossi",
    "Smith",
    "Tanaka",
    "Usman",
    "Volkov",
    "Walker",
    "Xu",
    "Young",
    "Zhang",
    "Berg",
    "Costa",
    "Dubois",
    "Novak",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
LANDING_PAGES = ("/", "/", "/menu", "/menu", "/locations", "/promo/spring-jaffles", "/promo/happy-hour", "/about")

# The landing contract owns the columns; orders gain "channel" from new_column_from on.
COLUMNS = ENTITY_COLUMNS
ORDER_COLUMNS = ENTITY_COLUMNS["orders"]
EVENT_COLUMNS = ENTITY_COLUMNS["events"]

# Manifest noise keys per entity; every key is always written (0 when none).
NOISE_KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("customer_updates", "duplicates", "malformed_null_key"),
    "orders": (
        "order_updates",
        "duplicates",
        "malformed_null_key",
        "malformed_bad_timestamp",
        "malformed_negative_amount",
        "malformed_unknown_store",
    ),
    "items": ("duplicates", "malformed_null_key", "malformed_unknown_sku"),
    "events": ("late_events", "duplicates", "malformed_null_key", "malformed_bad_timestamp", "malformed_unknown_sku"),
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
            f"world_start must be on or after {EARLIEST_WORLD_START} (no stores open before), got {world_start}"
        )
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
    if options.workers is not None:
        _check_int("workers", options.workers, 1, _MAX_WORKERS)


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
# Worker processes: days are split into contiguous chunks, one per process; a chunk after the
# first re-simulates up to LOOKBACK_DAYS lead-in days, each costing about this share of a written day.
_LEAD_IN_COST = 0.15  # lead-in days are simulated in one block and write nothing
_STARTUP_COST = 0.5  # starting a worker process (an interpreter importing duckdb), in written days
_PARALLEL_MIN_ORDERS = 100_000  # below this many orders in a call, one process is faster
_MAX_WORKERS = 64
# Days are simulated in blocks, one statement per entity for a whole block (planning a statement
# costs about as much as executing it for a few thousand orders): up to this many orders, or days.
_BLOCK_ORDERS = 200_000
_MAX_BLOCK_DAYS = 32

# The tables of pending records, one per entity; `k` = origin_ordinal * _KEY_SPACE + key in the day.
_TABLES: dict[str, str] = {
    "customers": "k BIGINT, idx BIGINT, upd BOOLEAN, renamed BOOLEAN, updated_at BIGINT",
    "orders": "k BIGINT, j BIGINT, v INTEGER, cidx BIGINT, store INTEGER, ordered_at BIGINT, subtotal INTEGER,"
    " tax_paid INTEGER, online BOOLEAN, status INTEGER, updated_at BIGINT",
    "items": "k BIGINT, j BIGINT, x BIGINT, sku INTEGER",
    "events": "k BIGINT, conv BOOLEAN, who BIGINT, j BIGINT, etype INTEGER, occurred_at BIGINT, sku INTEGER,"
    " page INTEGER, collected_at BIGINT, late BOOLEAN",
}

# Generation order of an origin day's records of each entity, as an ORDER BY over `k` (unique per
# record within the day): customers are created (k even) before the updates (k odd); orders'
# first versions (k % 4 = 0), then second, then third; items and events by key.
_GENERATION_ORDER: dict[str, str] = {"customers": "k % 2, k", "orders": "k % 4, k", "items": "k", "events": "k"}


# Manifest noise counts per entity beyond duplicates and malformed copies: key -> condition on a
# batch's real records.
_NOISE_CONDITIONS: dict[str, dict[str, str]] = {
    "customers": {"customer_updates": "upd"},
    "orders": {"order_updates": "v > 0"},
    "items": {},
    "events": {"late_events": "late"},
}


def _check_csv_safe(value: str) -> None:
    if any(c in value for c in ',"\n\r\t') or value == "":
        raise AssertionError(f"{value!r} would need CSV quoting")


def _csv_list(values) -> str:
    """A SQL list of string literals that need no CSV quoting (checked)."""
    values = list(values)
    for value in values:
        _check_csv_safe(value)
    return _sql_list(values)


def _json_list(values) -> str:
    """A SQL list of JSON string literals; the values must need no escaping (checked)."""
    values = list(values)
    for value in values:
        if json.dumps(value) != f'"{value}"':
            raise AssertionError(f"{value!r} needs JSON escaping")
    return _sql_list(f'"{v}"' for v in values)


class _World:
    """The simulation: one single-threaded DuckDB connection and one narrow integer table per entity.

    An entity's table holds the records (plus duplicate and malformed copies) not yet written, each
    with the batch day it lands in (`deliver`), and only the numbers needed to rebuild it: ids,
    names and timestamps are formatted while writing, from the same hash functions. Days are
    simulated in blocks: one INSERT per entity appends the records of all the block's days (the
    `days` table holds each day's numbers), so planning is paid once per block rather than per
    day. The table order is therefore not the file order; writing batch D sorts its rows by a key
    that is unique per row (origin day, real/duplicate/malformed, generation order within the
    day), which fixes the bytes whatever the table order. After a block's batches are written,
    what can no longer be written is deleted.
    """

    def __init__(self, options: GenerateOptions):
        self.o = options
        self.noise = options.noise
        self.world_start = options.world_start if options.world_start is not None else options.start
        self.ws = self.world_start.toordinal()
        self._block: tuple[int, int] = (0, -1)  # the batch days [first, last] of the simulated block
        self._counts: dict[str, dict[int, dict[str, int]]] = {}  # entity -> batch day -> noise counts
        self._prepared: dict[tuple[str, str], str] = {}  # (entity, line SQL) -> prepared COPY
        self._count = 0  # prepared statements so far
        self.scratch = Path()  # where the prepared COPYs write (set by the caller)
        # One thread: parallelism comes from worker processes, and a single thread keeps every
        # statement's output order trivially deterministic.
        self.con = duckdb.connect(":memory:", config={"threads": 1})
        seed = int(options.seed)
        customers = self.o.initial_customers + self.o.new_customers_per_day
        c = self.con
        # h: s, d and i are never negative, and for those DuckDB hashes INTEGER and BIGINT alike, so
        # no casts are needed (fewer nodes to bind in every statement); the seed may be negative.
        c.execute(f"""
            CREATE MACRO h(s, d, i) AS hash(hash({seed}::BIGINT, s, d, i));
            CREATE MACRO rnd(s, d, i) AS (h(s, d, i) >> 11)::DOUBLE * 1.1102230246251565e-16;
            CREATE MACRO pick(s, d, i, n) AS 1 + floor(rnd(s, d, i) * (n))::INTEGER;
            CREATE MACRO uid(s, d, i) AS
                (((h(s, d, i)::UHUGEINT << 64) | h((s) + 1000, d, i)::UHUGEINT)::UUID)::VARCHAR;
            CREATE MACRO day_epoch(o) AS ((o) - {_EPOCH_ORDINAL})::BIGINT * 86400;
            CREATE MACRO o_cidx(o, j, ncust) AS (CASE WHEN rnd({S_ORDER_LOYAL}, o, j) < 0.5
                THEN floor(rnd({S_ORDER_CUSTOMER}, o, j) * greatest(1, (ncust) // 5))
                ELSE floor(rnd({S_ORDER_CUSTOMER}, o, j) * (ncust)) END)::BIGINT;
            CREATE MACRO item_sku(o, j, i) AS pick({S_ITEM_SKU}, o, (j) * 8 + (i), {len(SKUS)});
            CREATE MACRO gap(o, key) AS 20 + floor(rnd({S_SESSION_GAP}, o, key) * 280)::BIGINT;
            CREATE MACRO c_created(idx) AS (CASE WHEN (idx) < {customers} THEN 0
                ELSE ((idx) - {self.o.initial_customers}) // {max(self.o.new_customers_per_day, 1)} END);
        """)
        for entity, columns in _TABLES.items():
            c.execute(f"CREATE TABLE {entity} ({columns}, deliver INTEGER, copy INTEGER, mal INTEGER)")

    def customers_by(self, offset: int) -> int:
        """Customers created up to and including world day `offset` (0 = world_start)."""
        return self.o.initial_customers + self.o.new_customers_per_day * (offset + 1)

    def _orders_on(self, ordinals: list[int]) -> dict[int, int]:
        """The order count of each day (one statement for all of them)."""
        values = ", ".join(f"({o})" for o in ordinals)
        rows = self.con.execute(f"SELECT o, rnd({S_DAY_VOLUME}, o, 0) FROM (VALUES {values}) v(o)").fetchall()
        return {o: max(1, round(self.o.orders_per_day * (0.9 + 0.2 * jitter))) for o, jitter in rows}

    def _insert(self, entity: str, select: str, kinds_count: str, needed_from: int | None) -> None:
        """Append the records of `select` (columns as in the table up to `deliver`, all named), then
        duplicate copies, then malformed copies of some of them: one statement, whose UNION ALL
        parts run over the records materialized once. Records that land before batch
        `needed_from` - 1 (a lead-in day's) are left out: neither they nor their copies can land
        on or after `needed_from`. The table order does not matter (see ``_rows``)."""
        if needed_from is not None:
            select = f"SELECT * FROM ({select}) WHERE deliver >= {needed_from - 1}"
        off = ENTITY_OFFSET[entity]
        parts = ["SELECT *, 0, 0 FROM base"]
        if self.noise.duplicate_rate > 0:
            parts.append(f"""
                SELECT * REPLACE (deliver + (rnd({S_DUP_DAY}, {off}, k) < 0.5)::INTEGER AS deliver), 1, 0
                FROM base WHERE rnd({S_DUP + off}, 0, k) < {self.noise.duplicate_rate!r}
            """)
        if self.noise.malformed_rate > 0:
            parts.append(f"""
                SELECT *, 0, pick({S_MALFORMED_KIND + off}, 0, k, {kinds_count})
                FROM base WHERE rnd({S_MALFORMED + off}, 0, k) < {self.noise.malformed_rate!r}
            """)
        if len(parts) == 1:
            self.con.execute(f"INSERT INTO {entity} SELECT *, 0, 0 FROM ({select})")
        else:
            self.con.execute(f"INSERT INTO {entity} WITH base AS MATERIALIZED ({select}) {' UNION ALL '.join(parts)}")

    # -- origin days ---------------------------------------------------------------------------

    def simulate(self, first: int, last: int, needed_from: int | None = None) -> None:
        """Append every record originating on days [first, last], each with the batch day it
        lands in: one statement per entity for all of these days (the `days` table holds each
        day's numbers; day-dependent values are columns of it rather than literals).

        With `needed_from` (lead-in days, all before it), the records that land before
        `needed_from` - 1 are left out, and so are the days of an entity none of whose records
        can land on or after that batch day.
        """
        lead_in = needed_from
        nf = needed_from if needed_from is not None else first
        if needed_from is None:
            self._block, self._counts = (first, last), {}  # the batches to write next
        ordinals = list(range(first, last + 1))
        counts = self._orders_on(ordinals)
        rows = []
        for o in ordinals:
            off = o - self.ws
            day = dt.date.fromordinal(o)
            open_stores = [i + 1 for i, s in enumerate(STORES) if s.open_on(day)]
            n = counts[o]
            lo = 0 if off == 0 else self.customers_by(off - 1)
            n_anon = round(n * ONLINE_SHARE * ANON_SESSIONS_PER_ONLINE_ORDER)
            rows.append(
                f"({o}, {off}, {n}, {self.customers_by(off)}::BIGINT, {lo}::BIGINT, {_sql_list(open_stores)},"
                f" {len(open_stores)}, {n_anon})"
            )
        con, ks = self.con, _KEY_SPACE
        con.execute(
            "CREATE OR REPLACE TABLE days AS SELECT * FROM (VALUES "
            + ", ".join(rows)
            + ") v(o, off, n, ncust, lo, open_stores, n_open, n_anon)"
        )

        def days_from(lowest: int) -> str:  # the days whose records can still be needed
            return "days" if lowest <= first else f"(SELECT * FROM days WHERE o >= {lowest})"

        # Customers: created on each day, then profile updates of customers created before it.
        if last + 1 >= nf:  # duplicates land a day later
            new = f"""
                SELECT o::BIGINT * {ks} + i * 2 AS k, i AS idx, false AS upd, false AS renamed,
                       day_epoch(o) + floor(rnd({S_CUST_TIME}, 0, i) * 25200)::BIGINT AS updated_at, o AS deliver
                FROM (SELECT o, unnest(range(lo, ncust)) AS i FROM {days_from(nf - 1)})
            """
            updates = ""
            rate = self.noise.customer_update_rate
            max_lo = max(0 if o == self.ws else self.customers_by(o - self.ws - 1) for o in ordinals)
            if rate > 0 and max_lo > 0:
                # Each customer changes name at most once, on a geometric day after creation (itself
                # an update); other updates change only the email. Closed form: no history needed.
                # range x days, filtered: streams, however many customers there are.
                p = NAME_CHANGE_SHARE * rate
                log_keep = math.log1p(-p)
                rename_off = (
                    f"(c_created(i) + 1 + floor(ln(1.0 - rnd({S_CUST_NAME_CHANGE}, 0, i)) / {log_keep!r})::BIGINT)"
                )
                updates = f"""
                    UNION ALL
                    SELECT o::BIGINT * {ks} + i * 2 + 1, i, true, ro <= off,
                           day_epoch(o) + floor(rnd({S_CUST_UPD_TIME}, o, i) * 86400)::BIGINT, o
                    FROM (SELECT o, off, i, {rename_off} AS ro
                          FROM range({max_lo}) r(i), {days_from(nf - 1)} d WHERE i < d.lo)
                    WHERE ro = off OR rnd({S_CUST_UPDATE}, o, i) < {(1 - NAME_CHANGE_SHARE) * rate!r}
                """
            self._insert("customers", new + updates, "1", lead_in)

        # Orders: one row per order (`ob`, with everything later tables need, so that each random
        # draw is made once per order), then its CDC versions.
        prices = self.price_list
        subtotal = " + ".join(f"(nitems > {x})::INTEGER * {prices}[s{x}]" for x in range(5))
        con.execute(f"""
            CREATE OR REPLACE TABLE ob AS
            SELECT o, j, cidx, store, ordered_at, online,
                   online AND fate < {CANCEL_SHARE_OF_ONLINE} AS cancelled,
                   NOT (online AND fate < {CANCEL_SHARE_OF_ONLINE})
                       AND rnd({S_ORDER_RETURN}, o, j) < {RETURN_SHARE} AS returned,
                   nitems, [s0, s1, s2, s3, s4] AS skus, {subtotal} AS subtotal
            FROM (
                SELECT o, i AS j, o_cidx(o, i, ncust) AS cidx,
                       open_stores[pick({S_ORDER_STORE}, o, i, n_open)] AS store,
                       day_epoch(o) + 25200 + floor(rnd({S_ORDER_TIME}, o, i) * 50400)::BIGINT AS ordered_at,
                       rnd({S_ORDER_ONLINE}, o, i) < {ONLINE_SHARE} AS online,
                       rnd({S_ORDER_FATE}, o, i) AS fate,
                       1 + (ri >= 0.45)::INTEGER + (ri >= 0.75)::INTEGER + (ri >= 0.88)::INTEGER
                         + (ri >= 0.96)::INTEGER AS nitems,
                       {", ".join(f"item_sku(o, i, {x}) AS s{x}" for x in range(5))}
                FROM (SELECT *, rnd({S_ORDER_ITEMS}, o, i) AS ri
                      FROM (SELECT o, ncust, open_stores, n_open, unnest(range(n)) AS i FROM days))
            )
        """)

        def ob_from(lowest: int) -> str:
            return "ob" if lowest <= first else f"(SELECT * FROM ob WHERE o >= {lowest})"

        if last + 3 >= nf:  # returns land two days later, their duplicates one more
            tax = _sql_list(s.tax_per_10k for s in STORES)
            self._insert(
                "orders",
                f"""
                SELECT o::BIGINT * {ks} + j * 4 AS k, j, 0 AS v, cidx, store, ordered_at, subtotal,
                       (subtotal * {tax}[store] + 5000) // 10000 AS tax_paid, online,
                       CASE WHEN online THEN 1 ELSE 2 END AS status, ordered_at AS updated_at, o AS deliver
                FROM {ob_from(nf - 3)}
                UNION ALL
                SELECT o::BIGINT * {ks} + j * 4 + 1, j, 1, cidx, store, ordered_at, subtotal,
                       (subtotal * {tax}[store] + 5000) // 10000, online, CASE WHEN cancelled THEN 3 ELSE 2 END,
                       day_epoch(o) + 86400 + floor(rnd({S_ORDER_T1}, o, j) * 86400)::BIGINT, o + 1
                FROM {ob_from(nf - 3)} WHERE online
                UNION ALL
                SELECT o::BIGINT * {ks} + j * 4 + 2, j, 2, cidx, store, ordered_at, subtotal,
                       (subtotal * {tax}[store] + 5000) // 10000, online, 4,
                       day_epoch(o) + 2 * 86400 + floor(rnd({S_ORDER_T2}, o, j) * 86400)::BIGINT, o + 2
                FROM {ob_from(nf - 3)} WHERE returned
            """,
                "4",
                lead_in,
            )

        if last + 1 >= nf:  # duplicates land a day later
            # Items: each order row expanded in place into its 1 to 5 items.
            self._insert(
                "items",
                f"""
                SELECT o::BIGINT * {ks} + j * 8 + x AS k, j, x, skus[x + 1] AS sku, o AS deliver
                FROM (SELECT o, j, skus, unnest(range(nitems)) AS x FROM {ob_from(nf - 1)})
            """,
                "2",
                lead_in,
            )

        # Events. A converting session of online order j has m = 2 * items + 3 events: page_view,
        # (product_view, add_to_cart) per item, checkout_started, order_placed at ordered_at. The
        # gap G in [20 s, 300 s) plus jitter < G/2 keeps events ordered and < 30 min apart.
        # Sessions are drawn once each, then expanded into their events.
        visitor_pool = max(100, 20 * self.o.orders_per_day)
        late_rate = self.noise.late_event_rate
        n_pages = len(LANDING_PAGES)
        conv = f"""
            SELECT o, j * 16 + e AS key, true AS conv, cidx AS who, j,
                   CASE WHEN e = 0 THEN 1 WHEN e = m - 1 THEN 5 WHEN e = m - 2 THEN 4
                        WHEN e % 2 = 1 THEN 2 ELSE 3 END AS etype,
                   ordered_at - (m - 1 - e) * g
                       + CASE WHEN e < m - 1
                              THEN floor(rnd({S_EVENT_JITTER}, o, j * 16 + e) * g / 2)::BIGINT
                              ELSE 0 END AS occurred_at,
                   CASE WHEN e > 0 AND e < m - 2 THEN skus[(e - 1) // 2 + 1] END AS sku, page
            FROM (
                SELECT o, j, cidx, ordered_at, skus, m, g, page, unnest(range(m)) AS e
                FROM (SELECT o, j, cidx, ordered_at, skus, 2 * nitems + 3 AS m, gap(o, j) AS g,
                             pick({S_LANDING_PAGE}, o, j, {n_pages}) AS page
                      FROM ob WHERE online)
            )
        """
        anon = f"""
            SELECT o, {_ANON_KEY_BASE} + s * 16 + e AS key, false AS conv, who, s AS j,
                   CASE WHEN e = 0 THEN 1 WHEN e <= npv THEN 2 ELSE 3 END AS etype,
                   t0 + e * g + floor(rnd({S_EVENT_JITTER}, o, {_ANON_KEY_BASE} + s * 16 + e) * g / 2)::BIGINT
                       AS occurred_at,
                   CASE WHEN e > 0 THEN pick({S_EVENT_SKU}, o, s * 16 + least(e, npv), {len(SKUS)}) END AS sku,
                   page
            FROM (
                SELECT o, s, npv, who, t0, g, page, unnest(range(1 + npv + atc)) AS e
                FROM (
                    SELECT o, s, npv, (npv > 0 AND rnd({S_ANON_CART}, o, s) < 0.35)::INTEGER AS atc,
                           floor(rnd({S_VISITOR}, o, s) * {visitor_pool})::BIGINT AS who,
                           day_epoch(o) + floor(rnd({S_ANON_START}, o, s) * 86400)::BIGINT AS t0,
                           gap(o, {_ANON_KEY_BASE} + s) AS g,
                           pick({S_LANDING_PAGE}, o, {_ANON_KEY_BASE} + s, {n_pages}) AS page
                    FROM (SELECT o, s, floor(rnd({S_ANON_DEPTH}, o, s) * 4)::INTEGER AS npv
                          FROM (SELECT o, unnest(range(n_anon)) AS s FROM days))
                )
            )
        """
        if late_rate > 0:
            late = f"rnd({S_EVENT_LATE}, o, key) < {late_rate!r}"
            delay = "CASE WHEN late THEN 86400 + floor(rd * 172800)::BIGINT ELSE floor(rd * 6)::BIGINT END"
        else:
            late, delay = "false", "floor(rd * 6)::BIGINT"
        self._insert(
            "events",
            f"""
            SELECT o::BIGINT * {ks} + key AS k, conv, who, j, etype, occurred_at, sku, page,
                   occurred_at + delay AS collected_at, late,
                   ({_EPOCH_ORDINAL} + (occurred_at + delay) // 86400)::INTEGER AS deliver
            FROM (SELECT *, {delay} AS delay
                  FROM (SELECT *, {late} AS late, rnd({S_EVENT_DELAY}, o, key) AS rd
                        FROM ({conv} UNION ALL {anon})))
        """,
            "CASE WHEN sku IS NULL THEN 2 ELSE 3 END",
            lead_in,
        )

    def forget_through(self, d: int) -> None:
        """Delete the records of batches up to `d`: written, or before the first requested day."""
        for entity in _TABLES:
            self.con.execute(f"DELETE FROM {entity} WHERE deliver <= {d}")

    # -- writing batches ---------------------------------------------------------------------

    @staticmethod
    def _rows(entity: str, d: int | str) -> str:
        """The rows of batch `d` with `o` = their origin day, in file order: by origin day, then
        real records, duplicate copies, malformed copies, each in generation order. The sort key
        is unique (a record has at most one copy of each kind), so the order is fully determined
        whatever the table order."""
        return (
            f"SELECT *, k // {_KEY_SPACE} AS o FROM {entity} WHERE deliver = {d}"
            f" ORDER BY k // {_KEY_SPACE}, copy + 2 * (mal > 0)::INTEGER, {_GENERATION_ORDER[entity]}"
        )

    def _noise_counts(self, entity: str, d: int) -> dict[str, int]:
        """Counts for the manifest; the `_NOISE_CONDITIONS` apply to the batch's real records.
        Counted for every batch of the simulated block at once (one statement per entity)."""
        if entity not in self._counts:
            exprs = {"duplicates": "copy = 1"}
            exprs.update({key: f"copy = 0 AND mal = 0 AND {cond}" for key, cond in _NOISE_CONDITIONS[entity].items()})
            for number, kind in enumerate(MALFORMED_KINDS[entity], start=1):
                exprs[f"malformed_{kind}"] = f"mal = {number}"
            select = ", ".join(f"count(*) FILTER (WHERE {cond})" for cond in exprs.values())
            first, last = self._block
            rows = self.con.execute(
                f"SELECT deliver, {select} FROM {entity} WHERE deliver BETWEEN {first} AND {last} GROUP BY deliver"
            ).fetchall()
            by_day = {day: dict(zip(exprs, (int(v) for v in values), strict=True)) for day, *values in rows}
            self._counts[entity] = {
                day: {key: by_day.get(day, {}).get(key, 0) for key in NOISE_KEYS[entity]}
                for day in range(first, last + 1)
            }
        return self._counts[entity][d]

    @staticmethod
    def _ts(x: str) -> str:
        """SQL formatting epoch seconds `x` as YYYY-MM-DDTHH:MM:SS."""
        return f"strftime(make_timestamp(({x})::BIGINT * 1000000), '%Y-%m-%dT%H:%M:%S')"

    def _bad_ts(self, entity: str) -> str:
        stream = S_MALFORMED_TS + ENTITY_OFFSET[entity]
        return f"{_csv_list(BAD_TIMESTAMPS)}[pick({stream}, 0, k, {len(BAD_TIMESTAMPS)})]"

    # Each file line is built as one string in SQL and written unquoted by DuckDB's CSV writer
    # (QUOTE '', one column): cheaper than its CSV or JSON formatting and byte for byte the same,
    # because every value is an id, a timestamp, a number or a fixed word or name of this module
    # that needs no CSV quoting or JSON escaping (checked); a null CSV value is an empty field.

    def _csv_line(self, values: dict[str, str]) -> tuple[str, str]:
        """(line SQL, header) of a CSV file with columns `values` (name -> SQL of the value)."""
        for name in values:
            _check_csv_safe(name)
        return "concat(" + ", ',', ".join(values.values()) + ")", ",".join(values)

    def _line(self, entity: str, d: int) -> tuple[str, str | None, str]:
        """(SQL of one line of the entity's file in batch `d`, its CSV header or None for JSON
        Lines, extra columns computed per row first)."""
        if entity == "customers":
            first, last, domains = _csv_list(FIRST_NAMES), _csv_list(LAST_NAMES), _csv_list(EMAIL_DOMAINS)
            fn = f"{first}[pick({S_CUST_FIRST}, 0, idx, {len(FIRST_NAMES)})]"
            ln = (
                f"{last}[pick(CASE WHEN renamed THEN {S_CUST_ALT_LAST} ELSE {S_CUST_LAST} END,"
                f" 0, idx, {len(LAST_NAMES)})]"
            )
            dom = f"{domains}[pick({S_CUST_DOMAIN}, 0, idx, {len(EMAIL_DOMAINS)})]"
            values = {
                "id": f"CASE WHEN mal = 1 THEN NULL ELSE uid({S_CUSTOMER_ID}, 0, idx) END",
                "name": "fn || ' ' || ln",
                "email": f"""lower(fn) || '.' || lower(ln)
                           || CASE WHEN upd THEN (h({S_CUST_EMAIL}, o, idx) % 10000)::VARCHAR ELSE '.' || idx END
                           || '@' || {dom}""",
                "updated_at": self._ts("updated_at"),
            }
            assert tuple(values) == COLUMNS["customers"]
            return *self._csv_line(values), f", {fn} AS fn, {ln} AS ln"
        if entity == "orders":
            store_ids = _csv_list(s.id for s in STORES)
            values = {
                "id": f"CASE WHEN mal = 1 THEN NULL ELSE uid({S_ORDER_ID}, o, j) END",
                "customer": f"uid({S_CUSTOMER_ID}, 0, cidx)",
                "ordered_at": f"CASE WHEN mal = 2 THEN {self._bad_ts('orders')} ELSE {self._ts('ordered_at')} END",
                "store_id": f"CASE WHEN mal = 4 THEN uid({S_STORE_UNKNOWN}, 0, k) ELSE {store_ids}[store] END",
                "subtotal": "CASE WHEN mal = 3 THEN -subtotal ELSE subtotal END",
                "tax_paid": "tax_paid",
                "order_total": "subtotal + tax_paid",
                "status": f"{_csv_list(_STATUSES)}[status]",
                "updated_at": self._ts("updated_at"),
            }
            if self.o.new_column_from is not None and d >= self.o.new_column_from.toordinal():
                values["channel"] = "CASE WHEN online THEN 'online' ELSE 'in_store' END"
            assert tuple(values)[: len(ORDER_COLUMNS)] == ORDER_COLUMNS
            return *self._csv_line(values), ""
        if entity == "items":
            values = {
                "id": f"CASE WHEN mal = 1 THEN NULL ELSE uid({S_ITEM_ID}, o, j * 8 + x) END",
                "order_id": f"uid({S_ORDER_ID}, o, j)",
                "sku": f"CASE WHEN mal = 2 THEN {_csv_list([UNKNOWN_SKU])}[1] ELSE {_csv_list(SKUS)}[sku] END",
            }
            assert tuple(values) == COLUMNS["items"]
            return *self._csv_line(values), ""
        assert entity == "events"
        return self._event_line(), None, ""

    def _event_line(self) -> str:
        # `{"key":value,...}` in EVENT_COLUMNS order, null for absent, as DuckDB's JSON writer
        # would write it. ("text", x): x is never null, its quotes go into the constant parts;
        # ("json", x): x is the JSON value itself.
        def quoted(uid_expr: str) -> str:
            return f"concat('\"', {uid_expr}, '\"')"

        _json_list((*BAD_TIMESTAMPS, UNKNOWN_SKU))  # checks that they need no escaping
        product_pages = _json_list(f"/products/{sku}" for sku in SKUS)
        values = {
            "event_id": (
                "json",
                f"CASE WHEN mal = 1 THEN 'null'"
                f" ELSE {quoted(f'uid({S_EVENT_ID}, o, k - o::BIGINT * {_KEY_SPACE})')} END",
            ),
            "anonymous_id": ("text", f"CASE WHEN conv THEN uid({S_DEVICE}, 0, who) ELSE uid({S_VISITOR}, 0, who) END"),
            "customer_id": (
                "json",
                f"CASE WHEN etype >= 4 THEN {quoted(f'uid({S_CUSTOMER_ID}, 0, who)')} ELSE 'null' END",
            ),
            "event_type": ("json", f"{_json_list(_EVENT_TYPES)}[etype]"),
            "occurred_at": (
                "text",
                f"CASE WHEN mal = 2 THEN {self._bad_ts('events')} ELSE {self._ts('occurred_at')} END",
            ),
            "collected_at": ("text", self._ts("collected_at")),
            "page_path": (
                "json",
                f"CASE etype WHEN 1 THEN {_json_list(LANDING_PAGES)}[page]"
                f" WHEN 4 THEN '\"/checkout\"' WHEN 5 THEN '\"/checkout/confirmation\"'"
                f" ELSE coalesce({product_pages}[sku], 'null') END",
            ),
            "sku": (
                "json",
                f"CASE WHEN mal = 3 THEN '\"{UNKNOWN_SKU}\"' WHEN sku IS NULL THEN 'null'"
                f" ELSE {_json_list(SKUS)}[sku] END",
            ),
            "order_id": ("json", f"CASE WHEN etype = 5 THEN {quoted(f'uid({S_ORDER_ID}, o, j)')} ELSE 'null' END"),
        }
        assert tuple(values) == EVENT_COLUMNS
        parts, text = [], "{"
        for number, (key, (kind, value)) in enumerate(values.items()):
            text += ("," if number else "") + f'"{key}":' + ('"' if kind == "text" else "")
            parts += [_sql_str(text), value]
            text = '"' if kind == "text" else ""
        parts.append(_sql_str(text + "}"))
        return f"concat({', '.join(parts)})"

    def land(self, entity: str, d: int, batch: BatchWriter) -> None:
        """Write batch `d`'s file of `entity` into `batch`, and set its noise counts.

        The COPY is a prepared statement per entity (and line format), executed with the batch
        day: planning it costs about as much as a day's customers. Its target path is therefore
        fixed, a file in `self.scratch` (inside landing), moved into the batch afterwards."""
        line, header, inner = self._line(entity, d)
        target = self.scratch / ENTITY_FILES[entity]
        name = self._prepared.get((entity, line))
        if name is None:
            for key in [key for key in self._prepared if key[0] == entity]:  # an earlier block's
                self.con.execute(f"DEALLOCATE {self._prepared.pop(key)}")
            self._count += 1
            name = f"copy_{entity}_{self._count}"
            rows = self._rows(entity, "$1")
            source = f"(SELECT *{inner} FROM ({rows}))" if inner else f"({rows})"
            self.con.execute(
                f'PREPARE {name} AS COPY (SELECT {line} AS "{"line" if header is None else header}" FROM {source})'
                f" TO {_sql_str(str(target))}"
                f" (FORMAT csv, HEADER {'false' if header is None else 'true'}, QUOTE '', ESCAPE '', DELIMITER '\t')"
            )
            self._prepared[(entity, line)] = name
        self.con.execute(f"EXECUTE {name}({int(d)})")
        os.replace(target, batch.path_for(ENTITY_FILES[entity]))
        batch.noise = self._noise_counts(entity, d)

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


def _generate_days(landing: Path, options: GenerateOptions, first: int, last: int, on_day) -> None:
    """Write the batches of days [first, last] (ordinals) in this process, serially.

    Re-simulates the lead-in days first; calls ``on_day(batches, rows)`` after each day's batches.
    """
    world = _World(options)
    # The files are written here first (see _World.land): inside landing, so that moving them into
    # their batch is a rename.
    world.scratch = landing / f".generator-{uuid.uuid4().hex}.tmp"
    try:
        world.scratch.mkdir(parents=True)
        block = max(1, min(_MAX_BLOCK_DAYS, _BLOCK_ORDERS // options.orders_per_day))
        if first > world.ws:
            for a in range(max(world.ws, first - LOOKBACK_DAYS), first, block):
                world.simulate(a, min(first - 1, a + block - 1), needed_from=first)
            world.forget_through(first - 1)
        for a in range(first, last + 1, block):
            b = min(last, a + block - 1)
            world.simulate(a, b)
            for d in range(a, b + 1):
                day = dt.date.fromordinal(d)
                written = _write_reference(landing, day) if d == world.ws else []
                for entity in DAILY_ENTITIES:
                    with BatchWriter(landing, entity, day, producer=PRODUCER) as batch:
                        world.land(entity, d, batch)
                    written.append(landing / entity / day.isoformat())
                on_day(len(written), sum(_manifest_rows(path) for path in written))
            world.forget_through(b)
    finally:
        world.close()
        shutil.rmtree(world.scratch, ignore_errors=True)


# A worker process runs this fixed entry point rather than a multiprocessing target, so that the
# caller's __main__ is never re-imported (scripts need no `if __name__ == "__main__"` guard).
_WORKER_CODE = (
    "import sys; sys.path.insert(0, sys.argv[1]); from orchestration.generator import _worker_main; _worker_main()"
)


def _worker_main() -> None:
    """Worker process: (landing, options, first, last) pickled on stdin; reports on fd sys.argv[2]."""
    conn = mp_connection.Connection(int(sys.argv[2]), readable=False)
    try:
        landing, options, first, last = pickle.load(sys.stdin.buffer)
        _generate_days(landing, options, first, last, lambda batches, rows: conn.send(("day", batches, rows)))
        conn.send(("done", 0, 0))
    except BaseException as error:  # report anything, including KeyboardInterrupt, to the parent
        text = traceback.format_exc()
        try:
            conn.send(("error", error, text))
        except Exception:  # the exception does not pickle
            conn.send(("error", None, text))
    finally:
        conn.close()


def _cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def plan_chunks(options: GenerateOptions) -> list[tuple[dt.date, dt.date]]:
    """The (first, last) batch dates each worker process writes; one chunk means in-process.

    ``options.workers`` None picks one process per CPU for calls of at least 100,000 orders, else
    one. Chunks are contiguous and balanced by cost: every chunk but one starting at world_start
    re-simulates LOOKBACK_DAYS lead-in days, so it gets fewer days to write.
    """
    first = options.start.toordinal()
    ws = (options.world_start or options.start).toordinal()
    workers = options.workers
    if workers is None:
        workers = _cpu_count() if options.orders_per_day * options.days >= _PARALLEL_MIN_ORDERS else 1
    workers = max(1, min(workers, options.days))

    def cost(day: int) -> float:  # extra cost of a chunk starting on `day`, beyond its written days
        extra = _LEAD_IN_COST * min(LOOKBACK_DAYS, day - ws)
        return extra if day == first else extra + _STARTUP_COST  # the first chunk runs in this process

    # Balance: every chunk's written days + extra cost ~ target (the later chunks' extra is taken as
    # the full lead-in, which holds unless the call starts within LOOKBACK_DAYS of world_start).
    target = (options.days + cost(first) + (workers - 1) * (_LEAD_IN_COST * LOOKBACK_DAYS + _STARTUP_COST)) / workers
    chunks, a = [], first
    end = first + options.days  # exclusive
    for i in range(workers - 1):
        length = max(1, round(target - cost(a)))
        length = min(length, end - a - (workers - 1 - i))  # leave at least a day for each later chunk
        chunks.append((a, a + length - 1))
        a += length
    chunks.append((a, end - 1))
    return [(dt.date.fromordinal(x), dt.date.fromordinal(y)) for x, y in chunks]


def _generate_parallel(landing: Path, options: GenerateOptions, chunks, on_day) -> None:
    """Write chunks[0] in this process and each other chunk in a worker process started for it;
    relay the workers' per-day reports to `on_day` as they arrive (checked after each own day)."""
    root = str(Path(__file__).resolve().parents[1])
    workers: dict = {}  # report connection -> process
    pending: set = set()
    finished = False

    def relay(block: bool) -> None:
        """Handle every report that has arrived; with `block`, wait until all workers are done."""
        while pending:
            ready = mp_connection.wait(list(pending), timeout=None if block else 0)
            if not ready:
                return
            for reader in ready:
                try:
                    kind, first, second = reader.recv()
                except EOFError:
                    code = workers[reader].wait()
                    raise RuntimeError(f"generator worker {workers[reader].pid} died (exit code {code})") from None
                if kind == "day":
                    on_day(first, second)
                elif kind == "done":
                    pending.discard(reader)
                else:  # "error": re-raise the worker's exception here, with its traceback as the cause
                    cause = RuntimeError(f"in generator worker {workers[reader].pid}:\n{second}")
                    if isinstance(first, BaseException):
                        raise first from cause
                    raise cause

    def own_day(batches: int, rows: int) -> None:
        on_day(batches, rows)
        relay(block=False)

    try:
        for a, b in chunks[1:]:
            read_fd, write_fd = os.pipe()
            try:
                process = subprocess.Popen(
                    [sys.executable, "-c", _WORKER_CODE, root, str(write_fd)],
                    stdin=subprocess.PIPE,
                    pass_fds=(write_fd,),
                )
            except BaseException:
                os.close(read_fd)
                raise
            finally:
                os.close(write_fd)
            reader = mp_connection.Connection(read_fd, writable=False)
            workers[reader] = process
            pending.add(reader)
            with process.stdin:
                pickle.dump((landing, options, a.toordinal(), b.toordinal()), process.stdin)
        _generate_days(landing, options, chunks[0][0].toordinal(), chunks[0][1].toordinal(), own_day)
        relay(block=True)
        finished = True
    finally:
        for reader, process in workers.items():
            reader.close()
            if not finished and process.poll() is None:
                process.terminate()  # a sibling failed, or we were interrupted: stop the rest
            process.wait()


DAILY_ENTITIES = ("customers", "orders", "items", "events")


def generate(landing: Path, options: GenerateOptions, progress: bool = False) -> GenerateSummary:
    """Write the batches of days [start, start + days) under `landing`; see docs/generator.md.

    Large calls are split into contiguous chunks of days written by worker processes (see
    ``plan_chunks``); each re-simulates the days before its chunk, so every batch's bytes are the
    same whatever the split. The progress bar advances in this process as days complete.
    """
    validate_options(options)
    began = time.perf_counter()
    landing = Path(landing)
    chunks = plan_chunks(options)
    totals = [0, 0]
    with tqdm(total=options.days, disable=not progress, file=sys.stderr, unit="day", desc="generating") as bar:

        def on_day(batches: int, rows: int) -> None:
            totals[0] += batches
            totals[1] += rows
            bar.update(1)

        if len(chunks) == 1:
            _generate_days(landing, options, options.start.toordinal(), chunks[0][1].toordinal(), on_day)
        else:
            _generate_parallel(landing, options, chunks, on_day)
    return GenerateSummary(batches=totals[0], rows=totals[1], seconds=time.perf_counter() - began)
