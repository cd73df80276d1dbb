"""The build-history regression flags as warning-severity asset checks on every dbt model.

Each dbt step records its invocation in the observability store when dbt exits
(orchestration/dbt_assets.py). This check runs after the models it covers and judges each
model's latest run against its history with the rules of orchestration/observability/flags.py
(runtime above twice the rolling median, rows inserted outside the 5th-95th percentile, zero rows
where there were some), the same flags `strata report` shows. It reads the SQLite store only,
never the warehouse, and never blocks: a slow model is worth a look, not a stopped pipeline.
"""

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetsDefinition,
    MetadataValue,
    multi_asset_check,
)

from orchestration.observability.flags import Flag, latest_flags
from orchestration.observability.store import StoreError, default_store_path, load_history

CHECK_NAME = "build_history_regressions"


def model_keys(manifest: Mapping[str, Any], dbt_assets: Sequence[AssetsDefinition]) -> list:
    models = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    return sorted((key for assets in dbt_assets for key in assets.keys if key.path[-1] in models), key=str)


def flags_by_model() -> tuple[dict[str, list[Flag]], str | None]:
    """The latest flags per model name, or why there is no history to judge."""
    try:
        history = load_history(default_store_path())
    except StoreError as error:
        return {}, str(error)
    except Exception as error:  # a locked or corrupt store must not fail the run
        return {}, f"the build history could not be read: {error!r}"
    flags: dict[str, list[Flag]] = {}
    for flag in latest_flags(history):
        flags.setdefault(flag.name, []).append(flag)
    return flags, None


def build_regression_checks(manifest: Mapping[str, Any], dbt_assets: Sequence[AssetsDefinition]):
    specs = [
        AssetCheckSpec(
            CHECK_NAME,
            asset=key,
            blocking=False,
            description="This model's latest run against its build history: runtime, rows inserted, zero rows.",
        )
        for key in model_keys(manifest, dbt_assets)
    ]

    @multi_asset_check(specs=specs, can_subset=True, name="strata_build_history_regressions")
    def build_history_regressions(context: AssetCheckExecutionContext):
        flags, missing = flags_by_model()
        for check_key in sorted(context.selected_asset_check_keys, key=str):
            model_flags = flags.get(check_key.asset_key.path[-1], [])
            metadata = {"rules": MetadataValue.text(", ".join(flag.rule for flag in model_flags) or "none")}
            if model_flags:
                metadata["flags"] = MetadataValue.md("\n".join(f"- {flag.message}" for flag in model_flags))
            if missing:
                metadata["history"] = MetadataValue.text(missing)
            yield AssetCheckResult(
                asset_key=check_key.asset_key,
                check_name=CHECK_NAME,
                passed=not model_flags,
                severity=AssetCheckSeverity.WARN,
                metadata=metadata,
            )

    return build_history_regressions
