"""One writer at a time for a data home's warehouse, whoever starts it.

DuckDB lets one process write a database file; a second writer fails at once with a lock error.
Dagster's run queue keeps runs it launches apart (dagster.yaml), but a `strata build` in a
terminal, a test, or a second deployment do not go through that queue. Every dbt invocation
therefore takes this advisory lock first and waits for it: a second run queues here instead of
failing on the DuckDB file lock. The kernel drops the lock when its holder dies, even by SIGKILL,
so a killed build never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_NAME = "warehouse.lock"


@contextmanager
def warehouse_lock(home: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[float]:
    """Hold the home's writer lock; yields the seconds spent waiting for it."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_NAME
    with path.open("a") as handle:
        started = time.monotonic()
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait:
                on_wait(f"another build holds {path}; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield time.monotonic() - started
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
