"""Jobs and what starts them: the daily schedule, the landing sensor, the reference job.

Every job that writes the warehouse carries the tag WRITES_WAREHOUSE_TAG; dagster.yaml lets one
such run proceed at a time, so a schedule tick and a sensor run queue one behind the other.
"""

from __future__ import annotations

import datetime as dt
import json

from dagster import (
    AssetsDefinition,
    AssetSelection,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    PartitionsDefinition,
    RunRequest,
    ScheduleEvaluationContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    define_asset_job,
    schedule,
    sensor,
)

from orchestration.dbt_assets import partitioned_keys, static_keys
from orchestration.landing import MANIFEST_NAME, iter_batches
from orchestration.settings import landing_dir

WRITES_WAREHOUSE_TAG = "strata/writes-warehouse"
DAILY_JOB = "strata_daily"
REFERENCE_JOB = "strata_reference"


def build_jobs(landing_assets: AssetsDefinition, dbt_layers: AssetsDefinition):
    daily = define_asset_job(
        DAILY_JOB,
        selection=AssetSelection.assets(landing_assets) | AssetSelection.assets(*partitioned_keys(dbt_layers)),
        description="Land and build one day (or a range of days, as one dbt invocation) through all layers.",
        tags={WRITES_WAREHOUSE_TAG: "true"},
    )
    reference = define_asset_job(
        REFERENCE_JOB,
        selection=AssetSelection.assets(*static_keys(dbt_layers)),
        description="Rebuild the seeds and the lookups made from them (after a seed or lookup change).",
        tags={WRITES_WAREHOUSE_TAG: "true"},
    )
    return daily, reference


def build_daily_schedule(daily_job, hour_of_day: int = 2):
    @schedule(
        name="strata_daily_schedule",
        cron_schedule=f"0 {hour_of_day} * * *",
        job=daily_job,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.STOPPED,
        description="Builds yesterday's partition every night, once late files of the day have had time to land.",
    )
    def daily_schedule(context: ScheduleEvaluationContext) -> RunRequest:
        yesterday = (context.scheduled_execution_time.astimezone(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
        return RunRequest(run_key=f"schedule:{yesterday}", partition_key=yesterday)

    return daily_schedule


def manifest_mtimes(landing) -> dict[str, int]:
    """batch key -> mtime (ns) of its manifest, for complete batches only (the manifest is written last)."""
    mtimes = {}
    for batch in iter_batches(landing):
        manifest = batch.path / MANIFEST_NAME
        try:
            mtimes[batch.key] = manifest.stat().st_mtime_ns
        except FileNotFoundError:
            continue
    return mtimes


def build_landing_sensor(daily_job, partitions_def: PartitionsDefinition):
    @sensor(
        name="strata_landing_sensor",
        job=daily_job,
        minimum_interval_seconds=60,
        default_status=DefaultSensorStatus.STOPPED,
        description="Starts a run of a day's partition when a complete batch for that day lands (or is re-landed).",
    )
    def landing_sensor(context: SensorEvaluationContext):
        landing = landing_dir()
        if not landing.is_dir():
            return SkipReason(f"no landing directory at {landing}")
        # The cursor is the newest manifest time already acted on: a batch is new when its manifest
        # is newer, which also catches a batch re-landed in place (its manifest is rewritten).
        seen_until = json.loads(context.cursor)["manifest_mtime_ns"] if context.cursor else -1
        mtimes = manifest_mtimes(landing)
        newest_by_date: dict[str, int] = {}
        for key, mtime in mtimes.items():
            if mtime > seen_until:
                day = key.rsplit("/", 1)[1]
                newest_by_date[day] = max(mtime, newest_by_date.get(day, 0))
        known = set(partitions_def.get_partition_keys(dynamic_partitions_store=None))
        requests = [
            RunRequest(run_key=f"landing:{day}:{mtime}", partition_key=day)
            for day, mtime in sorted(newest_by_date.items())
            if day in known
        ]
        outside = sorted(set(newest_by_date) - known)
        if outside:
            context.log.warning(f"batches dated outside the partitions were not scheduled: {', '.join(outside)}")
        cursor = json.dumps({"manifest_mtime_ns": max([seen_until, *mtimes.values()])})
        if not requests:
            return SensorResult(skip_reason=SkipReason("no new landing batches"), cursor=cursor)
        return SensorResult(run_requests=requests, cursor=cursor)

    return landing_sensor
