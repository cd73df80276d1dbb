"""Every dbt node as a Dagster asset, all in one multi-asset `dbt` whose assets differ in partitioning.

- The nodes whose content depends on the window (everything that reads landing data) are daily
  partitioned; a run over partitions [first, last] is one `dbt build` with the vars
  window_start=first, window_end=last + 1 day (single-run backfill policy, so a backfill of a
  range is one invocation and dbt orders the days inside it).
- Seeds and the lookups built from seeds alone are unpartitioned (the translator decides). A run
  of those alone builds them without window vars; a run that selects them with partitioned nodes
  (a first build, a full refresh) builds everything in that same `dbt build`: they do not read
  the vars, and one invocation saves a dbt start-up and a project parse (BENCHMARKS.md,
  "Orchestration overhead").

dbt tests are asset checks on the model they test (dagster-dbt's default); error-severity checks
are blocking, and dbt build itself skips everything downstream of a failing test in the same
invocation, so a failing check in `raw` or `conformed` stops the later layers of the run.
"""

import datetime as dt
import json
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckEvaluation,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetMaterialization,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    Failure,
    Output,
    PartitionsDefinition,
    ResourceParam,
    RetryRequested,
)

from orchestration.build import FULL_WINDOW_TAG, check_landing
from orchestration.dagster_dbt_api import DbtCliInvocation, DbtCliResource, dbt_assets
from orchestration.dagster_dbt_api import asset_utils as dagster_dbt_asset_utils
from orchestration.dbt_invoke import UNIT_TESTS_LEFT_TO_CI, Window
from orchestration.manifest import strata_dbt_project
from orchestration.materialization_metadata import node_metadata
from orchestration.observability.artifacts import import_models_in_background
from orchestration.observability.store import record_invocation
from orchestration.partitions import window_for
from orchestration.settings import strata_home
from orchestration.translator import StrataTranslator, window_driven_ids
from orchestration.warehouse_lock import warehouse_lock

# When a run selects more than this many dbt resources (a UI subset of assets and checks can),
# dagster-dbt copies the whole project directory to a temporary one to write a selectors file.
# Strata's project directory is the repository root, holding .venv and the data home: the copy
# would take gigabytes. A few hundred names on dbt's command line are well within ARG_MAX.
dagster_dbt_asset_utils._SELECTION_ARGS_THRESHOLD = 100_000

# Runs that write the warehouse share this pool; dagster.yaml limits it to one at a time.
WAREHOUSE_POOL = "strata_warehouse"
TRANSIENT_RETRIES = 2
# Failures worth another attempt: DuckDB's file lock held by a process that bypasses Strata's lock
# (a notebook with the warehouse open for writing). A failing test, a SQL error or an unreadable
# landing file is not transient and fails at once rather than three times.
TRANSIENT_ERRORS = re.compile(r"Could not set lock on file|Conflicting lock is held")


class DbtBuildConfig(Config):
    full_refresh: bool = False


@dataclass
class BuildProgress:
    """Reports each asset as dbt finishes it; `strata build` prints these, the UI only logs them."""

    echo: Callable[[str], None] | None = None

    def report(self, context: AssetExecutionContext, message: str) -> None:
        context.log.info(message)
        if self.echo:
            self.echo(message)


def window_label(window: Window | None) -> str:
    if window is None:
        return "unpartitioned"
    if window.start is None or window.end is None:
        return "all landed batches"
    last = window.end - dt.timedelta(days=1)
    return window.start.isoformat() if last == window.start else f"{window.start}..{last}"


def target_dir(home: Path, window: Window | None) -> Path:
    """dbt's target/ per kind of invocation: a run of the static lookups alone never overwrites a
    windowed run's run_results.json, where tools look for the last build. (Both kinds share a
    saved parse now, orchestration/dbt_entry.py, but each directory keeps its own.)"""
    return home / ("target" if window is not None else "target_static")


def run_dbt_build(
    context: AssetExecutionContext,
    dbt: DbtCliResource,
    progress: BuildProgress,
    config: DbtBuildConfig,
    window: Window | None,
) -> Iterator:
    home = strata_home()
    dbt_vars: dict[str, Any] = {}
    corrupt: dict[str, list[str]] = {}
    incomplete: list[str] = []
    if window is not None:
        corrupt, incomplete = check_landing(home, window)
        for key in incomplete:
            context.log.warning(f"batch {key} has no manifest yet; left for a later run")
        dbt_vars = window.dbt_vars()
        if corrupt:
            dbt_vars["excluded_batches"] = sorted(corrupt)
    args = ["build", *UNIT_TESTS_LEFT_TO_CI, *(["--full-refresh"] if config.full_refresh else [])]
    if dbt_vars:
        args += ["--vars", json.dumps(dbt_vars)]
    label = window_label(window)

    def on_wait(message: str) -> None:
        progress.report(context, message)

    with warehouse_lock(home, on_wait=on_wait):
        # run_results.json must be this invocation's or none: a dbt that fails before writing it
        # would otherwise leave the previous run's results to be recorded and summarized again.
        (target_dir(home, window) / "run_results.json").unlink(missing_ok=True)
        started = time.monotonic()
        invocation = dbt.cli(args, context=context, target_path=target_dir(home, window), raise_on_error=False)
        import_models_in_background()
        every_batch_loaded = not corrupt and not incomplete
        for event in asset_events_with_row_counts(context, invocation, window, every_batch_loaded):
            yield event
            if isinstance(event, Output | AssetMaterialization):
                key = context.asset_key_for_output(event.output_name) if isinstance(event, Output) else event.asset_key
                progress.report(context, f"{time.monotonic() - started:7.1f}s  {key.to_user_string():<45} {label}")
            elif isinstance(event, AssetCheckResult | AssetCheckEvaluation) and not event.passed:
                progress.report(context, f"check failed: {event.asset_key.to_user_string()} {event.check_name}")
        error = invocation.get_error()
        # Under the lock: the next build waiting for it rewrites the same target directory.
        record_in_history(context, target_dir(home, window))
    if error is not None:
        if TRANSIENT_ERRORS.search(str(error)) or TRANSIENT_ERRORS.search(
            run_results_messages(target_dir(home, window))
        ):
            raise RetryRequested(max_retries=TRANSIENT_RETRIES, seconds_to_wait=10) from error
        raise error
    if corrupt:
        problems = [f"batch {key} not loaded: {problem}" for key in sorted(corrupt) for problem in corrupt[key]]
        raise Failure(
            description="corrupt landing batches were skipped, the rest loaded:\n" + "\n".join(problems),
            metadata={"problems": "\n".join(problems)},
        )


def writes_whole_batches(node: Mapping[str, Any]) -> bool:
    """A raw table replaces each landing batch it loads (delete+insert by batch date)."""
    config = node.get("config") or {}
    return config.get("incremental_strategy") == "delete+insert" and config.get("unique_key") == "_batch_date"


def asset_events_with_row_counts(
    context: AssetExecutionContext, invocation: DbtCliInvocation, window: Window | None, every_batch_loaded: bool
) -> Iterator:
    """dagster-dbt's asset events, each node's output carrying its row counts and timings.

    dbt logs a node's result (LogModelResult, from which dagster-dbt makes the Output) and then,
    at once, NodeFinished with the run result and its adapter_response; the Output is held until
    its NodeFinished arrives, so each materialization is recorded as its model finishes.
    """
    # A skipped batch (corrupt, or without its manifest yet) leaves the day's earlier load in place,
    # so the rows inserted are not the partition's size then.
    one_day = (
        every_batch_loaded
        and window is not None
        and window.start is not None
        and window.end == window.start + dt.timedelta(days=1)
    )
    pending: dict[str, Output] = {}
    for raw in invocation.stream_raw_events():
        info, data = raw.raw_event["info"], raw.raw_event["data"]
        unique_id = (data.get("node_info") or {}).get("unique_id")
        if info["name"] == "NodeFinished" and unique_id in pending:
            node = invocation.manifest["nodes"].get(unique_id, {})
            output = pending.pop(unique_id)
            try:
                metadata = node_metadata(raw.raw_event, whole_partition_written=one_day and writes_whole_batches(node))
            except Exception as error:  # the counts are extra; the model itself was built
                context.log.warning(f"no row counts for {unique_id}: {error!r}")
                metadata = {}
            yield output.with_metadata({**output.metadata, **metadata})
            continue
        for event in raw.to_default_asset_events(
            manifest=invocation.manifest,
            dagster_dbt_translator=invocation.dagster_dbt_translator,
            context=context,
            target_path=invocation.target_path,
            project=invocation.project,
        ):
            if isinstance(event, Output) and unique_id:
                pending[unique_id] = event
            else:
                yield event
    # A node whose NodeFinished never came (dbt killed between the two events) still materializes.
    yield from pending.values()


def record_in_history(context: AssetExecutionContext, target: Path) -> None:
    """Add the invocation to the observability store; a failure to record never fails the build."""
    try:
        record_invocation(target)
    except Exception as error:  # history is a by-product; the build's own outcome stands
        context.log.warning(f"the build history did not record this dbt invocation: {error!r}")


def run_results_messages(target: Path) -> str:
    path = target / "run_results.json"
    try:
        return "\n".join(result.get("message") or "" for result in json.loads(path.read_text())["results"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""


def partitioned_keys(assets_def: AssetsDefinition) -> list[AssetKey]:
    return sorted((key for key, spec in assets_def.specs_by_key.items() if spec.partitions_def is not None), key=str)


def static_keys(assets_def: AssetsDefinition) -> list[AssetKey]:
    return sorted(set(assets_def.keys) - set(partitioned_keys(assets_def)), key=str)


def selects_window(assets_def: AssetsDefinition, selected_keys) -> bool:
    """Whether a run of these keys builds a window: only runs of static assets alone do not."""
    return not set(selected_keys).isdisjoint(partitioned_keys(assets_def))


def window_of_run(context: AssetExecutionContext) -> Window | None:
    """The window a step builds: None when it selects only unpartitioned (static) assets."""
    if not selects_window(context.assets_def, context.selected_asset_keys):
        return None
    # A full build covers every landed batch, whatever partitions it is recorded against.
    if context.run.tags.get(FULL_WINDOW_TAG):
        return Window()
    return window_for(context.partition_key_range)


def build_dbt_assets(manifest: Mapping[str, Any], partitions_def: PartitionsDefinition) -> AssetsDefinition:
    # The translator gives each node its partitions (or none); the policy makes a range one run.
    @dbt_assets(
        name="dbt",
        manifest=manifest,
        project=strata_dbt_project(),
        dagster_dbt_translator=StrataTranslator(partitions_def, window_driven_ids(manifest)),
        pool=WAREHOUSE_POOL,
        backfill_policy=BackfillPolicy.single_run(),
    )
    def dbt_layers(
        context: AssetExecutionContext,
        dbt: DbtCliResource,
        build_progress: ResourceParam[BuildProgress],
        config: DbtBuildConfig,
    ):
        yield from run_dbt_build(context, dbt, build_progress, config, window_of_run(context))

    return dbt_layers
