"""Housekeeping: delete old runs and their event logs before the run storage grows without bound.

Dagster keeps every run and every event of it forever; with a daily schedule, a sensor and ~300
dbt nodes per run, the event log is what fills the disk first. The job deletes finished runs older
than the retention period through the instance API (which removes their event logs too) and
reports what it removed.
"""

import datetime as dt
import os

from dagster import (
    Config,
    DagsterInstance,
    DagsterRunStatus,
    DefaultScheduleStatus,
    OpExecutionContext,
    RunRequest,
    RunsFilter,
    job,
    op,
    schedule,
)

RETENTION_DAYS_ENV = "STRATA_RUN_RETENTION_DAYS"
DEFAULT_RETENTION_DAYS = 30
FINISHED = [DagsterRunStatus.SUCCESS, DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED]


def default_retention_days() -> int:
    value = os.environ.get(RETENTION_DAYS_ENV, str(DEFAULT_RETENTION_DAYS))
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{RETENTION_DAYS_ENV}={value!r}: expected a whole number of days, at least 1")
    return int(value)


class RetentionConfig(Config):
    retention_days: int = DEFAULT_RETENTION_DAYS


def delete_runs_older_than(instance: DagsterInstance, cutoff: dt.datetime, batch_size: int = 500) -> list[str]:
    """Delete finished runs created before `cutoff`; returns their ids. Runs still in progress stay."""
    deleted: list[str] = []
    while True:
        records = instance.get_run_records(
            filters=RunsFilter(created_before=cutoff, statuses=FINISHED), limit=batch_size
        )
        if not records:
            return deleted
        for record in records:
            instance.delete_run(record.dagster_run.run_id)
            deleted.append(record.dagster_run.run_id)


@op(description="Deletes finished runs (and their event logs) older than retention_days.")
def delete_old_runs(context: OpExecutionContext, config: RetentionConfig) -> int:
    if config.retention_days < 1:
        raise ValueError(f"retention_days={config.retention_days}: must be at least 1")
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(days=config.retention_days)
    deleted = delete_runs_older_than(context.instance, cutoff)
    remaining = context.instance.get_runs_count()
    context.log.info(f"deleted {len(deleted)} runs created before {cutoff:%Y-%m-%d %H:%M} UTC; {remaining} runs remain")
    context.add_output_metadata(
        {"deleted_runs": len(deleted), "cutoff": cutoff.isoformat(), "remaining_runs": remaining}
    )
    return len(deleted)


def build_retention_job():
    @job(
        name="strata_run_retention",
        description="Deletes Dagster runs and event logs older than the retention period.",
        config={"ops": {"delete_old_runs": {"config": {"retention_days": default_retention_days()}}}},
    )
    def run_retention():
        delete_old_runs()

    @schedule(
        name="strata_run_retention_schedule",
        cron_schedule="30 3 * * *",
        job=run_retention,
        execution_timezone="UTC",
        default_status=DefaultScheduleStatus.RUNNING,
    )
    def run_retention_schedule(context):
        return RunRequest()

    return run_retention, run_retention_schedule
