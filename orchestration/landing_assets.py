"""One Dagster asset per landing entity: a partition is that entity's batch of one day.

Materializing a partition observes the batches that arrived for those days (rows, bytes and
producer from each manifest, every file checked against its checksum). With the generator
switched on (STRATA_GENERATE_MISSING=1, for demos and tests), days that have no batch yet are
generated first. A corrupt batch fails the asset's `batches_match_manifest` check but does not
block the run: the dbt step skips exactly that batch and loads the rest, then fails the run
(the same rule as `strata build`).
"""

import datetime as dt
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetSpec,
    BackfillPolicy,
    ConfigurableResource,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    RetryPolicy,
    multi_asset,
)

from orchestration.landing import ENTITY_FILES, MANIFEST_NAME, Batch, iter_batches, verify_batch
from orchestration.partitions import first_partition_date, parse_partition_date, window_for
from orchestration.settings import landing_dir, strata_home
from orchestration.translator import LANDING_GROUP, landing_asset_key

GENERATE_MISSING_ENV = "STRATA_GENERATE_MISSING"
MANIFEST_CHECK = "batches_match_manifest"
LANDING_OWNER = "team:data-platform"

ENTITY_DESCRIPTIONS = {
    "customers": "Customer profiles as delivered; a changed profile arrives again with a later updated_at.",
    "stores": "Café locations (reference data, delivered when they change).",
    "products": "Menu items (reference data).",
    "supplies": "Supplies used by each product (reference data).",
    "orders": "Orders, redelivered with each status change.",
    "items": "Order lines, one row per item.",
    "events": "Web and app events (JSON lines), some collected days after they occurred.",
}


class LandingGenerator(ConfigurableResource):
    """Generates the days a landing run finds empty, when enabled (see docs/orchestration.md)."""

    enabled: bool = False
    seed: int = 42
    orders_per_day: int = 1000
    world_start: str | None = None

    @classmethod
    def from_environment(cls) -> "LandingGenerator":
        return cls(enabled=os.environ.get(GENERATE_MISSING_ENV) == "1")


def landing_specs(partitions_def: PartitionsDefinition) -> list[AssetSpec]:
    return [
        AssetSpec(
            landing_asset_key(entity),
            group_name=LANDING_GROUP,
            description=ENTITY_DESCRIPTIONS[entity],
            kinds={"file", file_name.rsplit(".", 1)[-1]},
            owners=[LANDING_OWNER],
            partitions_def=partitions_def,
            tags={"strata/layer": LANDING_GROUP},
            skippable=True,
        )
        for entity, file_name in ENTITY_FILES.items()
    ]


def landing_check_specs() -> list[AssetCheckSpec]:
    return [
        AssetCheckSpec(
            MANIFEST_CHECK,
            asset=landing_asset_key(entity),
            description="Every file of the window's batches matches the size and SHA-256 in its manifest.",
            blocking=False,
        )
        for entity in ENTITY_FILES
    ]


def days_without_batches(start: dt.date, end: dt.date) -> list[dt.date]:
    landing = landing_dir()
    landed = {batch.batch_date for batch in iter_batches(landing, start, end)} if landing.is_dir() else set()
    return [
        start + dt.timedelta(days=n) for n in range((end - start).days) if start + dt.timedelta(days=n) not in landed
    ]


def generate_missing_days(context: AssetExecutionContext, generator: LandingGenerator, days: list[dt.date]) -> None:
    from orchestration.generator import GenerateOptions, generate

    world_start = parse_partition_date(generator.world_start, "world_start") if generator.world_start else None
    for day in days:
        options = GenerateOptions(
            start=day,
            days=1,
            seed=generator.seed,
            orders_per_day=generator.orders_per_day,
            world_start=world_start or first_partition_date(),
        )
        summary = generate(landing_dir(), options)
        context.log.info(f"generated {summary.batches} batches, {summary.rows:,} rows for {day}")


def build_landing_assets(partitions_def: PartitionsDefinition):
    @multi_asset(
        name="landing",
        specs=landing_specs(partitions_def),
        check_specs=landing_check_specs(),
        can_subset=True,
        partitions_def=partitions_def,
        backfill_policy=BackfillPolicy.single_run(),
        retry_policy=RetryPolicy(max_retries=2, delay=5),
    )
    def landing_batches(context: AssetExecutionContext, landing_generator: LandingGenerator) -> Iterator:
        window = window_for(context.partition_key_range)
        if landing_generator.enabled:
            missing = days_without_batches(window.start, window.end)
            if missing:
                generate_missing_days(context, landing_generator, missing)
        landing = landing_dir()
        selected = {asset_key.path[-1] for asset_key in context.selected_asset_keys}
        batches = [
            batch
            for batch in (iter_batches(landing, window.start, window.end) if landing.is_dir() else [])
            if batch.entity in selected
        ]
        problems = verify_batches(batches)
        for asset_key in sorted(context.selected_asset_keys, key=str):
            entity = asset_key.path[-1]
            yield from observe_entity(asset_key, [batch for batch in batches if batch.entity == entity], problems)

    return landing_batches


def verify_batches(batches: list[Batch]) -> dict[str, list[str]]:
    """Each batch's problems. Hashing a month of landing data takes seconds, and SHA-256 releases the
    GIL: two threads use both cores of the standard machine (dbt has not started yet)."""
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        return dict(zip((batch.key for batch in batches), pool.map(verify_batch, batches), strict=True))


def observe_entity(asset_key, batches: list[Batch], problems_by_batch: dict[str, list[str]]) -> Iterator:
    rows = size = 0
    landed, problems, producers = [], [], set()
    for batch in batches:
        batch_problems = problems_by_batch[batch.key]
        if batch_problems:
            problems += batch_problems
            continue
        manifest = batch.manifest()
        landed.append(batch.batch_date.isoformat())
        producers.add(manifest.get("producer", "unknown"))
        rows += sum(entry["rows"] for entry in manifest["files"])
        size += sum(entry["bytes"] for entry in manifest["files"])
    yield MaterializeResult(
        asset_key=asset_key,
        metadata={
            "dagster/partition_row_count": rows,
            "batches": len(landed),
            "batch_dates": ", ".join(landed) or "none",
            "bytes": size,
            "producer": ", ".join(sorted(producers)) or "none",
            "landing": MetadataValue.path(str(landing_dir(strata_home()) / asset_key.path[-1])),
        },
        check_results=[
            AssetCheckResult(
                asset_key=asset_key,
                check_name=MANIFEST_CHECK,
                passed=not problems,
                severity=AssetCheckSeverity.ERROR,
                metadata={"problems": "\n".join(problems) or "none", "manifest": MANIFEST_NAME},
            )
        ],
    )
