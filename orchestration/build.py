"""`strata build`: materialize a window's assets through Dagster, in this process.

The run goes through the same asset definitions, partitions, checks and instance as runs
launched from the UI or the schedule (the data home's Dagster instance), so `strata build`
shows up in the UI's run history and its materializations count for the partitions.

Without --start/--end the window spans every landed batch and dbt runs without window vars: a
full build, recorded against every partition that has a batch. Corrupt batches (a file that no
longer matches its manifest) are skipped and named and fail the run, while every sound batch
still loads. Batches without a manifest are still landing and are left for a later run.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from orchestration.build_summary import BuildSummary, summarize
from orchestration.dbt_invoke import Window
from orchestration.landing import REFERENCE_ENTITIES, LandingError, iter_batches, verify_batch
from orchestration.settings import landing_dir, warehouse_path

# Run tag: the run covers every landed batch, so dbt gets no window vars (a plain full build).
FULL_WINDOW_TAG = "strata/full-window"


@dataclass
class BuildReport:
    success: bool
    errors: list[str] = field(default_factory=list)
    summary: BuildSummary | None = None
    run_id: str | None = None


def check_landing(home: Path, window: Window) -> tuple[dict[str, list[str]], list[str]]:
    """(corrupt batches with their problems, incomplete batches) that the window's run would read:
    the window's batches, and every earlier batch of a reference entity."""
    landing = landing_dir(home)
    if not landing.is_dir():
        raise LandingError(
            f"landing directory not found: {landing} (run `strata generate` or `strata import-jafgen` first)"
        )
    corrupt: dict[str, list[str]] = {}
    incomplete: list[str] = []
    for batch in iter_batches(landing, None, window.end):
        if batch.entity not in REFERENCE_ENTITIES and window.start is not None and batch.batch_date < window.start:
            continue
        problems = verify_batch(batch)
        if not problems:
            continue
        if not (batch.path / "_manifest.json").exists():
            incomplete.append(batch.key)
        else:
            corrupt[batch.key] = problems
    return corrupt, incomplete


def landed_window(home: Path) -> Window:
    """[first batch date, last batch date + 1 day): the window of a full build."""
    landing = landing_dir(home)
    if not landing.is_dir():
        raise LandingError(
            f"landing directory not found: {landing} (run `strata generate` or `strata import-jafgen` first)"
        )
    dates = [batch.batch_date for batch in iter_batches(landing)]
    if not dates:
        raise LandingError(
            f"no landing batches under {landing} (run `strata generate` or `strata import-jafgen` first)"
        )
    return Window(min(dates), max(dates) + dt.timedelta(days=1))


def build(
    home: Path,
    window: Window,
    full_refresh: bool = False,
    select: str | None = None,
    echo: Callable[[str], None] | None = None,
    dbt_output: TextIO | None = None,
) -> BuildReport:
    # Imported here: Dagster and the manifest load take seconds, and `strata generate` needs neither.
    from orchestration.dagster_run import materialize_window

    full_window = window.start is None and window.end is None
    if window.start is None or window.end is None:
        landed = landed_window(home)
        window = Window(window.start or landed.start, window.end or landed.end)
    else:
        landing = landing_dir(home)
        if not landing.is_dir():
            raise LandingError(f"landing directory not found: {landing} (run `strata generate` first)")
    result = materialize_window(
        home,
        window,
        full_refresh=full_refresh,
        select=select,
        full_window=full_window,
        echo=echo,
        dbt_output=dbt_output,
    )
    summary = summarize(result.target_dirs, warehouse_path(home)) if result.target_dirs else None
    return BuildReport(success=result.success, errors=result.errors, summary=summary, run_id=result.run_id)
