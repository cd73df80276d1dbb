"""The landing contract: how a batch of source files arrives, and how to tell a complete one.

A batch is the directory ``landing/<entity>/<YYYY-MM-DD>/``. It holds the entity's data files and,
written last, ``_manifest.json`` with each file's row count, size and SHA-256. A batch directory
only ever appears whole: producers write into a hidden temporary directory and rename it into
place, so readers never see half a batch, and re-landing a batch swaps the old one out.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

MANIFEST_NAME = "_manifest.json"

# entity -> landed file name; the format follows from the suffix.
ENTITY_FILES: dict[str, str] = {
    "customers": "customers.csv",
    "stores": "stores.csv",
    "products": "products.csv",
    "supplies": "supplies.csv",
    "orders": "orders.csv",
    "items": "items.csv",
    "events": "events.jsonl",
}

# Reference entities describe the world rather than happenings in it: a run reads every batch of
# them delivered before its window ends, not only the window's, so that facts are always checked
# against the same reference data whatever order the windows run in (a store delivered on the
# first day must be known to a run of the thirtieth day run first). They are small.
# models/raw/__sources.yml marks the same entities with `meta: {read: through_window_end}`.
REFERENCE_ENTITIES: frozenset[str] = frozenset({"stores", "products", "supplies"})

# entity -> the columns producers deliver, in order. models/raw/__sources.yml declares the same
# (a test keeps them equal); producers may add columns after these (schema drift), never drop one.
ENTITY_COLUMNS: dict[str, tuple[str, ...]] = {
    "customers": ("id", "name", "email", "updated_at"),
    "stores": ("id", "name", "opened_at", "tax_rate"),
    "products": ("sku", "name", "type", "price", "description"),
    "supplies": ("id", "name", "cost", "perishable", "sku"),
    "orders": (
        "id",
        "customer",
        "ordered_at",
        "store_id",
        "subtotal",
        "tax_paid",
        "order_total",
        "status",
        "updated_at",
    ),
    "items": ("id", "order_id", "sku"),
    "events": (
        "event_id",
        "anonymous_id",
        "customer_id",
        "event_type",
        "occurred_at",
        "collected_at",
        "page_path",
        "sku",
        "order_id",
    ),
}

_HASH_CHUNK = 1 << 18  # small enough to stay in the CPU cache between hashing and counting


class LandingError(Exception):
    """A landing batch or file that cannot be loaded; the message names it."""


def parse_batch_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise LandingError(f"not a batch date (YYYY-MM-DD): {text!r}") from None


def batch_dir(landing: Path, entity: str, batch_date: dt.date) -> Path:
    return landing / entity / batch_date.isoformat()


@dataclass(frozen=True)
class FileStats:
    rows: int
    bytes: int
    sha256: str


def file_stats(path: Path, header_lines: int) -> FileStats:
    """Row count, size and digest in one pass over the file, through one reused buffer."""
    digest = hashlib.sha256()
    newlines = 0
    size = 0
    last = ord("\n")
    buffer = bytearray(_HASH_CHUNK)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as handle:
        while read := handle.readinto(buffer):
            digest.update(view[:read])
            newlines += buffer.count(b"\n", 0, read)
            size += read
            last = buffer[read - 1]
    lines = newlines + (0 if last == ord("\n") else 1)
    return FileStats(rows=max(lines - header_lines, 0), bytes=size, sha256=digest.hexdigest())


# Digests of files this process has read, by the file's identity and change times: a run checks
# the same batches twice (the landing step, then the dbt step before it loads them), and hashing a
# gigabyte of landing data costs seconds. Any write to a file changes its ctime, so a file changed
# in between is read again.
_stats_by_identity: dict[tuple, FileStats] = {}
_STATS_KEPT = 50_000


def file_stats_once(path: Path, header_lines: int) -> FileStats:
    """file_stats, read again only when the file changed since this process last read it."""
    status = path.stat()
    identity = (str(path), status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns, status.st_ctime_ns)
    stats = _stats_by_identity.get(identity)
    if stats is None:
        stats = file_stats(path, header_lines)
        if len(_stats_by_identity) >= _STATS_KEPT:
            _stats_by_identity.clear()
        _stats_by_identity[identity] = stats
    return stats


def header_lines_for(file_name: str) -> int:
    return 1 if file_name.endswith(".csv") else 0


@dataclass
class BatchWriter:
    """Writes one batch atomically: files go to a temporary directory that is renamed into place.

    Use as a context manager; ``path_for`` gives where to write each file. On an exception the
    temporary directory is removed and any earlier version of the batch stays as it was.
    """

    landing: Path
    entity: str
    batch_date: dt.date
    producer: str
    noise: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.entity not in ENTITY_FILES:
            raise LandingError(f"unknown entity {self.entity!r}; expected one of {sorted(ENTITY_FILES)}")
        parent = self.landing / self.entity
        self._final = batch_dir(self.landing, self.entity, self.batch_date)
        self._tmp = parent / f".{self.batch_date.isoformat()}.{uuid.uuid4().hex}.tmp"

    def __enter__(self) -> BatchWriter:
        self._tmp.mkdir(parents=True)
        return self

    def path_for(self, file_name: str) -> Path:
        return self._tmp / file_name

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            return
        try:
            self._write_manifest()
            self._swap_into_place()
        except BaseException:
            shutil.rmtree(self._tmp, ignore_errors=True)
            raise

    def _write_manifest(self) -> None:
        files = []
        for path in sorted(p for p in self._tmp.iterdir() if p.name != MANIFEST_NAME):
            stats = file_stats(path, header_lines_for(path.name))
            files.append({"name": path.name, "rows": stats.rows, "bytes": stats.bytes, "sha256": stats.sha256})
        manifest = {
            "entity": self.entity,
            "batch_date": self.batch_date.isoformat(),
            "producer": self.producer,
            "files": files,
            "noise": dict(sorted(self.noise.items())),
        }
        (self._tmp / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")

    def _swap_into_place(self) -> None:
        old = None
        if self._final.exists():
            old = self._final.with_name(f".{self._final.name}.{uuid.uuid4().hex}.old")
            os.replace(self._final, old)
        os.replace(self._tmp, self._final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


@dataclass(frozen=True)
class Batch:
    entity: str
    batch_date: dt.date
    path: Path

    @property
    def key(self) -> str:
        return f"{self.entity}/{self.batch_date.isoformat()}"

    def manifest(self) -> dict:
        return json.loads((self.path / MANIFEST_NAME).read_text())


def iter_batches(landing: Path, start: dt.date | None = None, end: dt.date | None = None) -> Iterator[Batch]:
    """Complete and incomplete batch directories with start <= date < end, oldest first."""
    if not landing.is_dir():
        raise LandingError(f"landing directory not found: {landing}")
    for entity in sorted(ENTITY_FILES):
        entity_dir = landing / entity
        if not entity_dir.is_dir():
            continue
        for child in sorted(entity_dir.iterdir()):
            if child.name.startswith(".") or not child.is_dir():
                continue
            try:
                date = dt.date.fromisoformat(child.name)
            except ValueError:
                continue
            if (start is None or date >= start) and (end is None or date < end):
                yield Batch(entity, date, child)


def verify_batch(batch: Batch) -> list[str]:
    """Problems that make the batch unloadable, each naming the file; empty when it is sound."""
    manifest_path = batch.path / MANIFEST_NAME
    if not manifest_path.is_file():
        return [f"{batch.path}: no {MANIFEST_NAME} (batch still landing or written by hand)"]
    try:
        manifest = json.loads(manifest_path.read_text())
        listed = manifest["files"]
    except (ValueError, KeyError, TypeError) as error:
        return [f"{manifest_path}: unreadable manifest ({error})"]
    problems = []
    for entry in listed:
        path = batch.path / entry["name"]
        if not path.is_file():
            problems.append(f"{path}: listed in the manifest but missing")
            continue
        stats = file_stats_once(path, header_lines_for(path.name))
        if stats.bytes != entry["bytes"]:
            problems.append(f"{path}: {stats.bytes} bytes, manifest says {entry['bytes']} (truncated or appended)")
        elif stats.sha256 != entry["sha256"]:
            problems.append(f"{path}: content does not match the manifest checksum (corrupt)")
    return problems
