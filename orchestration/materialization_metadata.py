"""Dagster metadata for each dbt node, from dbt's own NodeFinished event.

dbt emits NodeFinished for a node as soon as the node is done, carrying its run result with the
adapter_response (rows written, from orchestration/dbt_row_counts.py, and the table's size from
macros/row_totals.sql) and its compile/execute timings. Attaching these to the node's
materialization while the build goes on gives the UI its row-count and timing plots with no query
on the warehouse: dagster-dbt's fetch_row_counts() would run a count(*) per model after dbt exits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from dagster import MetadataValue

from orchestration.observability.artifacts import response_count

COUNTS = ("rows_inserted", "rows_updated", "rows_deleted", "rows_affected")


def _seconds(timing: list[Mapping[str, Any]], step: str) -> float | None:
    for entry in timing or []:
        if entry.get("name") == step and entry.get("started_at") and entry.get("completed_at"):
            started = dt.datetime.fromisoformat(entry["started_at"].replace("Z", "+00:00"))
            completed = dt.datetime.fromisoformat(entry["completed_at"].replace("Z", "+00:00"))
            return (completed - started).total_seconds()
    return None


def node_metadata(node_finished: Mapping[str, Any], *, whole_partition_written: bool) -> dict[str, Any]:
    """Metadata for one NodeFinished event (its full JSON: `info` and `data`).

    `whole_partition_written`: the run wrote exactly one partition's rows, every one of them
    (a raw table's delete+insert of one day's batch); only then are the rows inserted the
    partition's row count. Elsewhere a window also touches its lookback days, and the partition's
    size is not something the statements counted.
    """
    result = node_finished["data"].get("run_result") or {}
    response = result.get("adapter_response") or {}
    metadata: dict[str, Any] = {"dbt/invocation_id": node_finished["info"].get("invocation_id")}
    total = response_count(response, "rows_total")
    if total is not None:
        metadata["dagster/row_count"] = MetadataValue.int(total)
    for name in COUNTS:
        value = response_count(response, name)
        if value is not None:
            metadata[f"strata/{name}"] = MetadataValue.int(value)
    inserted = response_count(response, "rows_inserted")
    if whole_partition_written and inserted is not None:
        metadata["dagster/partition_row_count"] = MetadataValue.int(inserted)
    for step in ("compile", "execute"):
        seconds = _seconds(result.get("timing_info"), step)
        if seconds is not None:
            metadata[f"strata/{step}_seconds"] = MetadataValue.float(seconds)
    return {name: value for name, value in metadata.items() if value is not None}
