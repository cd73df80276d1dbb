"""Regression flags: pure functions over a model's history of runs (docs/observability.md).

Each rule judges one run (each model's latest) against the runs
before it. Only successful runs that were not full refreshes count, on both sides: a full
refresh rebuilds from scratch, so its runtime and row counts say nothing about a regression of
the incremental path. A run is compared only with runs of the same window width: a 30-day
backfill inserts and takes about thirty times what a daily run does, which is no regression.
Unknown counts (None) never flag.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from orchestration.observability.artifacts import InvocationRecord

FLAGGED_RESOURCE_TYPES = ("model", "seed", "snapshot")
RUNTIME_WINDOW = 20
RUNTIME_FACTOR = 2.0
# Medians of fewer runs move too much with one slow day to call anything a regression.
MIN_HISTORY = 10
# Sub-second runs are dominated by dbt's and DuckDB's fixed costs, whose jitter doubles easily.
MIN_SECONDS = 1.0
ROWS_LOW_PERCENTILE = 5
ROWS_HIGH_PERCENTILE = 95
ZERO_ROWS_LOOKBACK = 5

RUNTIME = "runtime_above_twice_median"
ROWS_OUTLIER = "rows_inserted_outside_p5_p95"
ZERO_ROWS = "zero_rows_inserted"


@dataclass(frozen=True)
class ModelRun:
    invocation_id: str
    started_at: dt.datetime
    status: str
    full_refresh: bool
    execution_time: float
    rows_inserted: int | None
    # Days in the run's window; None for a build of everything landed.
    window_days: int | None = None

    @property
    def counts(self) -> bool:
        """Whether this run may serve as history or be judged."""
        return self.status == "success" and not self.full_refresh

    def like(self, other: ModelRun) -> bool:
        """Whether `other` may serve as this run's history."""
        return other.counts and other.window_days == self.window_days


@dataclass(frozen=True)
class Flag:
    rule: str
    unique_id: str
    name: str
    invocation_id: str
    # seconds for the runtime rule, rows inserted for the others
    observed: float
    message: str


def runtime_regression(run: ModelRun, history: Sequence[ModelRun]) -> str | None:
    """Why `run` is slower than twice the median of the last 20 counted runs before it, or None."""
    if not run.counts or run.execution_time < MIN_SECONDS:
        return None
    recent = [item.execution_time for item in history if run.like(item)][-RUNTIME_WINDOW:]
    if len(recent) < MIN_HISTORY:
        return None
    median = statistics.median(recent)
    if run.execution_time > RUNTIME_FACTOR * median:
        return f"{run.execution_time:.1f}s is above twice the median {median:.1f}s of the last {len(recent)} runs"
    return None


def rows_inserted_outlier(run: ModelRun, history: Sequence[ModelRun]) -> str | None:
    """Why `run` inserted fewer rows than the 5th or more than the 95th percentile before it, or None."""
    if not run.counts or run.rows_inserted is None:
        return None
    known = [item.rows_inserted for item in history if run.like(item) and item.rows_inserted is not None]
    if len(known) < MIN_HISTORY:
        return None
    # Linear interpolation between the closest ranks, numpy's default.
    cuts = statistics.quantiles(known, n=100, method="inclusive")
    low, high = cuts[ROWS_LOW_PERCENTILE - 1], cuts[ROWS_HIGH_PERCENTILE - 1]
    if run.rows_inserted < low or run.rows_inserted > high:
        return f"{run.rows_inserted:,} rows inserted, outside [{low:,.0f}, {high:,.0f}] (p5-p95 of {len(known)} runs)"
    return None


def zero_rows_inserted(run: ModelRun, history: Sequence[ModelRun]) -> str | None:
    """Why `run` inserting nothing is suspicious (each of the five counted runs before it inserted rows)."""
    if not run.counts or run.rows_inserted != 0:
        return None
    previous = [item.rows_inserted for item in history if item.counts][-ZERO_ROWS_LOOKBACK:]
    if len(previous) < ZERO_ROWS_LOOKBACK or any(count is None or count == 0 for count in previous):
        return None
    return f"0 rows inserted; the last {ZERO_ROWS_LOOKBACK} runs inserted {min(previous):,} to {max(previous):,}"


RULES = ((RUNTIME, runtime_regression), (ROWS_OUTLIER, rows_inserted_outlier), (ZERO_ROWS, zero_rows_inserted))


def runs_by_model(invocations: Iterable[InvocationRecord]) -> dict[str, list[ModelRun]]:
    """Each flaggable node's runs, oldest first."""
    runs: dict[str, list[ModelRun]] = {}
    for invocation in sorted(invocations, key=lambda item: item.started_at):
        for node in invocation.nodes:
            if node.resource_type not in FLAGGED_RESOURCE_TYPES:
                continue
            runs.setdefault(node.unique_id, []).append(
                ModelRun(
                    invocation.invocation_id,
                    invocation.started_at,
                    node.status,
                    invocation.full_refresh,
                    node.execution_time,
                    node.rows_inserted,
                    _window_days(invocation),
                )
            )
    return runs


def _window_days(invocation: InvocationRecord) -> int | None:
    try:
        start = dt.date.fromisoformat(invocation.window_start or "")
        end = dt.date.fromisoformat(invocation.window_end or "")
    except ValueError:
        return None
    return (end - start).days


def _judge(unique_id: str, name: str, model_runs: Sequence[ModelRun]) -> list[Flag]:
    run, history = model_runs[-1], model_runs[:-1]
    flags = []
    for rule, check in RULES:
        message = check(run, history)
        if message:
            observed = run.execution_time if rule == RUNTIME else float(run.rows_inserted or 0)
            flags.append(Flag(rule, unique_id, name, run.invocation_id, observed, message))
    return flags


def flags_for_invocation(history: Sequence[InvocationRecord], invocation_id: str) -> list[Flag]:
    """Every flag raised by the invocation's nodes, each judged against the runs before it."""
    invocation = next((item for item in history if item.invocation_id == invocation_id), None)
    if invocation is None:
        raise KeyError(f"invocation {invocation_id} is not in the history")
    earlier = [item for item in history if item.started_at < invocation.started_at]
    runs = runs_by_model([*earlier, invocation])
    names = {node.unique_id: node.name for node in invocation.nodes}
    return [
        flag
        for unique_id, model_runs in sorted(runs.items())
        if model_runs[-1].invocation_id == invocation_id
        for flag in _judge(unique_id, names[unique_id], model_runs)
    ]


def latest_flags(history: Sequence[InvocationRecord]) -> list[Flag]:
    """The flags of each node's most recent run in the history."""
    names = {node.unique_id: node.name for invocation in history for node in invocation.nodes}
    return [
        flag
        for unique_id, model_runs in sorted(runs_by_model(history).items())
        for flag in _judge(unique_id, names[unique_id], model_runs)
    ]
