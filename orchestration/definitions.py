"""The Dagster code location: `dagster dev` in the repository root loads `defs` from here
(pyproject.toml, [tool.dagster]).

Loading reads the prepared dbt manifest (see orchestration/manifest.py) and never touches the
warehouse, so the UI can be up while a build holds the DuckDB file.
"""

from __future__ import annotations

from dagster import Definitions

from orchestration.automation import build_daily_schedule, build_jobs, build_landing_sensor
from orchestration.dagster_home import tune_local_storage
from orchestration.dbt_assets import BuildProgress, build_dbt_assets
from orchestration.landing_assets import LandingGenerator, build_landing_assets
from orchestration.manifest import load_manifest, strata_dbt_resource
from orchestration.partitions import daily_partitions
from orchestration.regression_checks import build_regression_checks
from orchestration.retention import build_retention_job


def build_definitions(progress: BuildProgress | None = None) -> Definitions:
    # Runs launched from the UI execute in processes that load this module: same storage tuning.
    tune_local_storage()
    partitions_def = daily_partitions()
    landing_assets = build_landing_assets(partitions_def)
    manifest = load_manifest()
    dbt_layers = build_dbt_assets(manifest, partitions_def)
    regression_checks = build_regression_checks(manifest, [dbt_layers])
    daily_job, reference_job = build_jobs(landing_assets, dbt_layers)
    retention_job, retention_schedule = build_retention_job()
    return Definitions(
        assets=[landing_assets, dbt_layers],
        asset_checks=[regression_checks],
        jobs=[daily_job, reference_job, retention_job],
        schedules=[build_daily_schedule(daily_job), retention_schedule],
        sensors=[build_landing_sensor(daily_job, partitions_def)],
        resources={
            "dbt": strata_dbt_resource(),
            "landing_generator": LandingGenerator.from_environment(),
            "build_progress": progress or BuildProgress(),
        },
    )


defs = build_definitions()
