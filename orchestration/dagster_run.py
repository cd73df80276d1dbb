"""Runs a window through the Dagster asset graph in this process (what `strata build` does)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from dagster import AssetKey, AssetSelection, DagsterInstance, DagsterRunStatus, RunsFilter, materialize
from dagster._core.definitions.data_version import CODE_VERSION_TAG

from orchestration.automation import WRITES_WAREHOUSE_TAG
from orchestration.build import FULL_WINDOW_TAG
from orchestration.dagster_dbt_api import DBT_PYTHON_VERSION, build_dbt_asset_selection
from orchestration.dagster_home import instance_for
from orchestration.dbt_assets import BuildProgress, partitioned_keys, selects_window, static_keys, target_dir
from orchestration.dbt_invoke import Window
from orchestration.definitions import build_definitions
from orchestration.partitions import PartitionError, daily_partitions, parse_partition_date, partition_range_for
from orchestration.settings import warehouse_path

# Which process runs an in-process build: a later build can tell that a run still marked as
# started belongs to a process that died (SIGKILL, out of memory) and mark it failed.
PROCESS_TAG = "strata/process"
PARTITION_RANGE_START_TAG = "dagster/asset_partition_range_start"
PARTITION_RANGE_END_TAG = "dagster/asset_partition_range_end"
# Failures are collected from the run and printed once; Dagster's console copies would repeat them.
QUIET_LOGGING = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    errors: list[str] = field(default_factory=list)
    # dbt target directories this run wrote, for the summary
    target_dirs: list[Path] = field(default_factory=list)


def static_assets_need_building(instance: DagsterInstance, home: Path, dbt_layers, full_refresh: bool) -> bool:
    """The seed-only lookups change only with the code: rebuild them when the warehouse is new, one
    was never built in this instance, or its code version (dbt's checksum of the file) changed."""
    if full_refresh or not warehouse_path(home).exists():
        return True
    for key in static_keys(dbt_layers):
        event = instance.get_latest_materialization_event(key)
        if event is None or event.asset_materialization is None:
            return True
        if event.asset_materialization.tags.get(CODE_VERSION_TAG) != dbt_layers.code_versions_by_key.get(key):
            return True
    return False


def fail_runs_of_dead_processes(instance: DagsterInstance) -> list[str]:
    """Mark failed the in-process runs still 'started' whose process on this host is gone."""
    failed = []
    host = socket.gethostname()
    for record in instance.get_run_records(filters=RunsFilter(statuses=[DagsterRunStatus.STARTED])):
        owner = record.dagster_run.tags.get(PROCESS_TAG, "")
        owner_host, _, pid = owner.rpartition(":")
        if owner_host != host or not pid.isdigit() or process_alive(int(pid)):
            continue
        instance.report_run_failed(
            record.dagster_run, f"the strata build process {pid} ended without finishing the run"
        )
        failed.append(record.dagster_run.run_id)
    return failed


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clamp_to_partitions(window: Window, partitions_def) -> Window:
    """A full build may cover batches dated outside the partitions (only those inside are recorded)."""
    first = partitions_def.get_first_partition_key()
    last = partitions_def.get_last_partition_key()
    if first is None or last is None:
        raise PartitionError("the daily partitions definition has no partitions yet")
    start = max(window.start, parse_partition_date(first))
    end = min(window.end, parse_partition_date(last) + dt.timedelta(days=1))
    if start >= end:
        raise PartitionError(
            f"no landed batch falls inside the partitions {first}..{last} (see STRATA_FIRST_PARTITION)"
        )
    return Window(start, end)


def materialize_window(
    home: Path,
    window: Window,
    full_refresh: bool,
    select: str | None,
    full_window: bool,
    echo: Callable[[str], None] | None = None,
    dbt_output: TextIO | None = None,
) -> RunOutcome:
    """Materialize the window's assets; dbt's log lines go to dbt_output (default: discarded)."""
    defs = build_definitions(BuildProgress(echo))
    landing_assets, dbt_layers = defs.assets
    assets = [*defs.assets, *defs.asset_checks]
    instance = instance_for(home)
    partitions_def = daily_partitions(home)
    if full_window:
        window = clamp_to_partitions(window, partitions_def)
    else:
        first = partitions_def.get_first_partition_key()
        if window.start.isoformat() < first:
            raise PartitionError(
                f"--start {window.start} is before the first partition {first} (set STRATA_FIRST_PARTITION earlier)"
            )
    partition_range = partition_range_for(window)

    if select:
        # Only the selected models and their own checks: dagster-dbt's selection would also pick
        # the checks of unselected models whose tests touch a selected one (dbt's eager indirect
        # selection), such as the raw-to-conformed reconciliation for `--select raw`.
        if DBT_PYTHON_VERSION is None:
            raise ValueError(
                f"--select {select}: dbt selection syntax needs dbt-core's selection engine, which this "
                "process loaded dagster-dbt without (orchestration/dagster_dbt_api.py); import dagster_dbt "
                "before any orchestration module, as `strata build --select` does"
            )
        models = build_dbt_asset_selection([dbt_layers], dbt_select=select)
        selection = AssetSelection.assets(*models.resolve(defs.resolve_asset_graph()))
    else:
        selection = AssetSelection.assets(landing_assets) | AssetSelection.assets(*partitioned_keys(dbt_layers))
        if static_assets_need_building(instance, home, dbt_layers, full_refresh):
            # Built in the same dbt invocation as the window's nodes.
            selection = selection | AssetSelection.assets(*static_keys(dbt_layers))
    selected_keys: set[AssetKey] = set(selection.resolve(defs.resolve_asset_graph()))
    selected_dbt_keys = selected_keys & set(dbt_layers.keys)
    ops = {dbt_layers.op.name: {"config": {"full_refresh": full_refresh}}} if selected_dbt_keys else {}
    fail_runs_of_dead_processes(instance)
    tags = {
        PROCESS_TAG: f"{socket.gethostname()}:{os.getpid()}",
        PARTITION_RANGE_START_TAG: partition_range.start,
        PARTITION_RANGE_END_TAG: partition_range.end,
        WRITES_WAREHOUSE_TAG: "true",
        **({FULL_WINDOW_TAG: "true"} if full_window else {}),
    }
    # dagster-dbt echoes every dbt log line to stdout (for Dagster's captured logs); on a terminal
    # that buries the progress lines. dbt's full log stays in <home>/target/dbt.log.
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(dbt_output or devnull):
        result = materialize(
            assets,
            selection=selection,
            instance=instance,
            resources=defs.resources,
            run_config={"ops": ops, **QUIET_LOGGING},
            tags=tags,
            raise_on_error=False,
        )
    errors = [step_failure_message(event) for event in result.all_events if event.is_step_failure]
    windowed = selects_window(dbt_layers, selected_dbt_keys)
    target_dirs = [target_dir(home, window if windowed else None)] if selected_dbt_keys else []
    return RunOutcome(success=result.success, run_id=result.run_id, errors=errors, target_dirs=target_dirs)


def step_failure_message(event) -> str:
    data = event.step_failure_data
    if data.user_failure_data and data.user_failure_data.description:
        message = data.user_failure_data.description
    elif data.error:
        message = data.error.message
    else:
        message = "failed"
    return f"{event.step_key}: {message.strip()}"
