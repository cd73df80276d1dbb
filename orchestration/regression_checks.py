"""The build-history regression flags as warning-severity asset checks on every dbt model.

Each dbt step records its invocation in the observability store when dbt exits
(orchestration/dbt_assets.py). This check runs after the models it covers and judges each
model's latest run against its history with the rules of orchestration/observability/flags.py
(runtime above twice the rolling median, rows inserted outside the 5th-95th percentile, zero rows
where there were some), the same flags `strata report` shows. It reads the SQLite store only,
never the warehouse, and never blocks: a slow model is worth a look, not a stopped pipeline.
"""

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetChecksDefinition,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetsDefinition,
    AssetSpec,
    MetadataValue,
    PartitionsDefinition,
    PreviewWarning,
    multi_asset_check,
)

from orchestration.observability.flags import Flag, latest_flags
from orchestration.observability.store import StoreError, default_store_path, load_history

CHECK_NAME = "build_history_regressions"


def model_specs(manifest: Mapping[str, Any], dbt_assets: Sequence[AssetsDefinition]) -> list[AssetSpec]:
    models = {node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"}
    specs = (spec for assets in dbt_assets for spec in assets.specs if spec.key.path[-1] in models)
    return sorted(specs, key=lambda spec: str(spec.key))


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


def build_regression_checks(
    manifest: Mapping[str, Any], dbt_assets: Sequence[AssetsDefinition]
) -> list[AssetChecksDefinition]:
    """One check op for the daily-partitioned models and one for the unpartitioned ones.

    Each op is partitioned like the models it checks. When a check result is recorded, Dagster
    looks up the data version of the checked model over the partitions the op's run maps it to;
    an unpartitioned op maps a partitioned model to all of them, so every run listed every
    partition since the first landed batch (one more each day) for each of the 42 partitioned
    models, about 0.2 s a run after two and a half years of history, and growing.
    """
    specs_by_partitions: dict[PartitionsDefinition | None, list[AssetSpec]] = {}
    for spec in model_specs(manifest, dbt_assets):
        specs_by_partitions.setdefault(spec.partitions_def, []).append(spec)
    return [
        regression_check_op(specs, partitions_def)
        for partitions_def, specs in sorted(specs_by_partitions.items(), key=lambda item: item[0] is not None)
    ]


def regression_check_op(models: Sequence[AssetSpec], partitions_def: PartitionsDefinition | None):
    with warnings.catch_warnings():
        # Partitioned check specs are a Dagster preview (1.13). pytests/test_orchestration.py
        # requires these checks' results from a real run, so a change in a later 1.13 release fails
        # the tests instead of passing unnoticed.
        warnings.simplefilter("ignore", PreviewWarning)
        specs = [
            AssetCheckSpec(
                CHECK_NAME,
                asset=model.key,
                blocking=False,
                description="This model's latest run against its build history: runtime, rows inserted, zero rows.",
                partitions_def=partitions_def,
            )
            for model in models
        ]
    name = "strata_build_history_regressions" + ("" if partitions_def is None else "_daily")

    @multi_asset_check(specs=specs, can_subset=True, name=name)
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
