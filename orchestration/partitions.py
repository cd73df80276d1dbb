"""Daily partitions and the dbt window each partition range stands for.

A partition is a landing batch date. A run over the partition range [first, last] builds the
half-open window [first, last + 1 day), the same window `strata build --start --end` takes.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from dagster import DailyPartitionsDefinition, PartitionKeyRange

from orchestration.dbt_invoke import Window
from orchestration.landing import ENTITY_FILES
from orchestration.settings import landing_dir

FIRST_PARTITION_ENV = "STRATA_FIRST_PARTITION"
FALLBACK_FIRST_PARTITION = dt.date(2024, 1, 1)


class PartitionError(ValueError):
    """A partition key or window that cannot become a dbt window; the message names it."""


def parse_partition_date(key: str, what: str = "partition key") -> dt.date:
    """Partition keys reach dbt as SQL literals, so they are parsed as dates first, never passed on as text."""
    try:
        return dt.date.fromisoformat(key)
    except (TypeError, ValueError):
        raise PartitionError(f"{what} {key!r} is not a date in YYYY-MM-DD form") from None


def earliest_batch_date(landing: Path) -> dt.date | None:
    """The oldest batch directory name in the landing area, from directory names only (no file reads)."""
    dates = []
    for entity in ENTITY_FILES:
        entity_dir = landing / entity
        if not entity_dir.is_dir():
            continue
        for child in entity_dir.iterdir():
            if child.is_dir() and not child.name.startswith("."):
                try:
                    dates.append(dt.date.fromisoformat(child.name))
                except ValueError:
                    continue
    return min(dates, default=None)


def first_partition_date(home: Path | None = None) -> dt.date:
    """STRATA_FIRST_PARTITION when set; else the earliest landed batch, so imported history (jafgen
    starts in 2016) is always covered; else a fixed default for an empty landing area."""
    configured = os.environ.get(FIRST_PARTITION_ENV)
    if configured:
        return parse_partition_date(configured, FIRST_PARTITION_ENV)
    landing = landing_dir(home)
    earliest = earliest_batch_date(landing) if landing.is_dir() else None
    return earliest or FALLBACK_FIRST_PARTITION


def daily_partitions(home: Path | None = None) -> DailyPartitionsDefinition:
    # end_offset=1 makes today a partition too: a batch landed today can be built today.
    return DailyPartitionsDefinition(start_date=first_partition_date(home).isoformat(), end_offset=1, timezone="UTC")


def window_for(partition_range: PartitionKeyRange) -> Window:
    start = parse_partition_date(partition_range.start)
    last = parse_partition_date(partition_range.end)
    if last < start:
        raise PartitionError(f"partition range {partition_range.start}..{partition_range.end} is reversed")
    return Window(start, last + dt.timedelta(days=1))


def partition_range_for(window: Window) -> PartitionKeyRange:
    """The partitions a window [start, end) covers: the inverse of window_for."""
    if window.start is None or window.end is None:
        raise PartitionError("a partitioned run needs both a window start and end")
    return PartitionKeyRange(window.start.isoformat(), (window.end - dt.timedelta(days=1)).isoformat())
