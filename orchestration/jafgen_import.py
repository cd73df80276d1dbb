"""Import the CSVs written by dbt Labs' ``jafgen`` into Strata's landing layout.

``jafgen 1`` writes ``jaffle-data/<prefix>_<entity>.csv`` (prefix ``raw`` unless ``--pre`` is
given) for one simulated year. This module lands them as batches:

* ``orders`` and ``items``: one batch per order date (the date part of ``ordered_at``); an item
  lands with its order's date, and an item whose order is not in the orders file lands in the
  first batch (counted in ``ImportSummary.orphan_items``).
* ``customers``, ``stores``, ``products``, ``supplies``: whole, in the first batch (the earliest
  order date).
* orders gain two trailing columns, ``status`` (``completed``; a delivered non-empty status is
  kept) and ``updated_at`` (= ``ordered_at``; a delivered non-empty value is kept).
* tweets are not imported.

Everything else is copied as delivered: jafgen's column order, row order and values, re-written
with the ``csv`` module (header row, ``\\n`` line endings, minimal quoting, empty = null).

All files are read, validated and split in memory before the first batch is landed, so an
invalid delivery raises :class:`JafgenImportError` and writes nothing. Each batch is landed
through :class:`~orchestration.landing.BatchWriter`, which makes it appear atomically.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestration.landing import ENTITY_FILES, BatchWriter

log = logging.getLogger(__name__)

PRODUCER = "jafgen-import"
DATA_SUBDIR = "jaffle-data"
DEFAULT_STATUS = "completed"

# The columns each jafgen file must have, in jafgen 0.4's order. Extra columns are copied along.
EXPECTED_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "name"),
    "orders": ("id", "customer", "ordered_at", "store_id", "subtotal", "tax_paid", "order_total"),
    "items": ("id", "order_id", "sku"),
    "products": ("sku", "name", "type", "price", "description"),
    "stores": ("id", "name", "opened_at", "tax_rate"),
    "supplies": ("id", "name", "cost", "perishable", "sku"),
}
STATIC_ENTITIES: tuple[str, ...] = ("customers", "stores", "products", "supplies")
# Columns Strata adds to orders, always written last, in this order.
ORDER_EXTRA_COLUMNS: tuple[str, ...] = ("status", "updated_at")


class JafgenImportError(Exception):
    """A jafgen delivery that cannot be imported; the one-line message names the file and problem."""


@dataclass(frozen=True)
class ImportSummary:
    batches: int  # batch directories written
    rows: int  # data rows landed over all entities
    first_date: dt.date
    last_date: dt.date
    orphan_items: int = 0  # items whose order is not in the orders file (landed in the first batch)


@dataclass
class _Table:
    """A parsed input file: header and rows, strings exactly as read."""

    path: Path
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line number in the file, fields)

    def index(self, column: str) -> int:
        return self.header.index(column)


@dataclass
class _Split:
    """Output CSV text for one entity, keyed by batch date, plus row counts."""

    header: list[str]
    buffers: dict[dt.date, io.StringIO] = field(default_factory=dict)
    counts: dict[dt.date, int] = field(default_factory=dict)
    _writers: dict[dt.date, Any] = field(default_factory=dict)

    def ensure(self, date: dt.date) -> None:
        """Make sure a batch for ``date`` exists (header-only until rows are added)."""
        if date not in self.buffers:
            buffer = io.StringIO()
            writer = csv.writer(buffer, lineterminator="\n")
            writer.writerow(self.header)
            self.buffers[date], self.counts[date], self._writers[date] = buffer, 0, writer

    def add(self, date: dt.date, row: list[str]) -> None:
        self.ensure(date)
        self._writers[date].writerow(row)
        self.counts[date] += 1


# --------------------------------------------------------------------------- locating the files


def _entity_suffix(entity: str) -> str:
    return f"_{entity}.csv"


def _prefixes_in(directory: Path) -> set[str]:
    """Prefixes ``p`` for which some ``<p>_<entity>.csv`` of an expected entity exists."""
    found: set[str] = set()
    try:
        names = [p.name for p in directory.iterdir() if p.is_file()]
    except OSError:
        return found
    for name in names:
        for entity in EXPECTED_COLUMNS:
            suffix = _entity_suffix(entity)
            if name.endswith(suffix):
                found.add(name[: -len(suffix)])
    return found


def _has_files(directory: Path, prefix: str) -> bool:
    return any((directory / f"{prefix}{_entity_suffix(e)}").is_file() for e in EXPECTED_COLUMNS)


def locate_files(source_dir: Path, prefix: str | None = None) -> tuple[str, dict[str, Path]]:
    """The prefix and the path of each expected file, from the data dir or its parent.

    ``source_dir`` may be the directory holding the CSVs or its parent holding ``jaffle-data/``.
    With ``prefix=None`` the prefix is detected from the file names (``raw`` for plain jafgen).
    """
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise JafgenImportError(f"jafgen directory not found: {source_dir}")
    candidates = [source_dir]
    if (source_dir / DATA_SUBDIR).is_dir():
        candidates.append(source_dir / DATA_SUBDIR)

    if prefix is not None:
        directory = next((d for d in candidates if _has_files(d, prefix)), candidates[-1])
    else:
        directory, prefixes = candidates[-1], set()
        for candidate in candidates:
            found = _prefixes_in(candidate)
            if found:
                directory, prefixes = candidate, found
                break
        if len(prefixes) > 1:
            listed = ", ".join(repr(p) for p in sorted(prefixes))
            raise JafgenImportError(f"several jafgen file prefixes in {directory}: {listed}; pass the prefix to import")
        prefix = prefixes.pop() if prefixes else "raw"

    paths = {entity: directory / f"{prefix}{_entity_suffix(entity)}" for entity in EXPECTED_COLUMNS}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        raise JafgenImportError(f"{directory}: missing jafgen file(s) {', '.join(missing)}")
    return prefix, paths


# --------------------------------------------------------------------------- reading and validating


def _read_table(path: Path, required: Iterable[str]) -> _Table:
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if not header:
                raise JafgenImportError(f"{path}: empty file, expected a header row with {', '.join(required)}")
            missing = [column for column in required if column not in header]
            if missing:
                raise JafgenImportError(f"{path}: missing column(s) {', '.join(missing)}")
            duplicated = sorted({column for column in header if header.count(column) > 1})
            if duplicated:
                raise JafgenImportError(f"{path}: duplicated column(s) {', '.join(duplicated)}")
            width = len(header)
            rows: list[tuple[int, list[str]]] = []
            start = reader.line_num + 1
            for row in reader:
                line = start
                start = reader.line_num + 1
                if not row:  # a blank line is not a row
                    continue
                if len(row) != width:
                    raise JafgenImportError(f"{path}: line {line} has {len(row)} fields, the header has {width}")
                if line != reader.line_num:
                    # The landing manifest counts rows by line, so a value with a line break would
                    # make every row count downstream wrong.
                    raise JafgenImportError(f"{path}: line {line} has a value containing a line break")
                rows.append((line, row))
    except UnicodeDecodeError as error:
        raise JafgenImportError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except csv.Error as error:
        raise JafgenImportError(f"{path}: unreadable CSV near line {reader.line_num} ({error})") from None
    except OSError as error:
        raise JafgenImportError(f"{path}: cannot read ({error.strerror or error})") from None
    return _Table(path, header, rows)


def _order_date(text: str, path: Path, line: int) -> dt.date:
    try:
        return dt.datetime.fromisoformat(text.strip()).date()
    except ValueError:
        raise JafgenImportError(f"{path}: line {line}: ordered_at {text!r} is not an ISO date-time") from None


def _split_orders(table: _Table) -> tuple[_Split, dict[str, dt.date]]:
    """Orders per date with status/updated_at last, and each order id's date."""
    i_id, i_ordered = table.index("id"), table.index("ordered_at")
    i_status = table.index("status") if "status" in table.header else None
    i_updated = table.index("updated_at") if "updated_at" in table.header else None
    keep = [i for i, column in enumerate(table.header) if column not in ORDER_EXTRA_COLUMNS]
    split = _Split([table.header[i] for i in keep] + list(ORDER_EXTRA_COLUMNS))

    dated: list[tuple[dt.date, list[str]]] = []
    order_dates: dict[str, dt.date] = {}
    first_line: dict[str, int] = {}
    for line, row in table.rows:
        date = _order_date(row[i_ordered], table.path, line)
        order_id = row[i_id]
        if order_id in order_dates:
            raise JafgenImportError(
                f"{table.path}: line {line}: duplicate order id {order_id!r} (first on line {first_line[order_id]})"
            )
        order_dates[order_id] = date
        first_line[order_id] = line
        status = row[i_status] if i_status is not None else ""
        updated = row[i_updated] if i_updated is not None else ""
        dated.append((date, [row[i] for i in keep] + [status or DEFAULT_STATUS, updated or row[i_ordered]]))
    if not dated:
        raise JafgenImportError(f"{table.path}: no orders, so there is no batch date to land under")
    for date, row in dated:
        split.add(date, row)
    return split, order_dates


def _split_items(table: _Table, order_dates: dict[str, dt.date], first: dt.date) -> tuple[_Split, int]:
    i_order = table.index("order_id")
    split = _Split(list(table.header))
    orphans = 0
    for _, row in table.rows:
        date = order_dates.get(row[i_order])
        if date is None:
            orphans += 1
            date = first
        split.add(date, row)
    return split, orphans


def _static(table: _Table, first: dt.date) -> _Split:
    split = _Split(list(table.header))
    split.ensure(first)
    for _, row in table.rows:
        split.add(first, row)
    return split


# --------------------------------------------------------------------------- landing


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:  # newline="": keep "\n" as is
        handle.write(text)


def import_jafgen(source_dir: Path, landing: Path, prefix: str | None = None) -> ImportSummary:
    """Land a jafgen delivery; see the module docstring for the mapping.

    Raises :class:`JafgenImportError` (and lands nothing) when the directory, a file, a column or
    an ``ordered_at`` value is missing or malformed. Re-importing the same files rewrites the same
    batches with identical bytes.
    """
    _, paths = locate_files(Path(source_dir), prefix)
    tables = {entity: _read_table(path, EXPECTED_COLUMNS[entity]) for entity, path in paths.items()}

    orders, order_dates = _split_orders(tables["orders"])
    dates = sorted(orders.buffers)
    first, last = dates[0], dates[-1]
    items, orphans = _split_items(tables["items"], order_dates, first)
    for date in dates:
        items.ensure(date)  # every order date gets an items batch, header-only if need be

    plan: list[tuple[str, dt.date, _Split]] = [
        (entity, first, _static(tables[entity], first)) for entity in STATIC_ENTITIES
    ]
    for date in dates:
        plan.append(("orders", date, orders))
        plan.append(("items", date, items))
    del tables

    if orphans:
        log.warning(
            "%s: %d item(s) reference an order missing from %s; landed in the first batch (%s)",
            paths["items"],
            orphans,
            paths["orders"].name,
            first.isoformat(),
        )

    landing = Path(landing)
    rows = 0
    for entity, date, split in plan:
        with BatchWriter(landing, entity, date, producer=PRODUCER) as batch:
            _write_text(batch.path_for(ENTITY_FILES[entity]), split.buffers[date].getvalue())
        rows += split.counts[date]
    return ImportSummary(batches=len(plan), rows=rows, first_date=first, last_date=last, orphan_items=orphans)
