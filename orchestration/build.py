"""`strata build`: check the window's landing batches, run dbt over the window, summarize.

Corrupt batches (a file that no longer matches its manifest) are skipped, named, and make the
command fail, while every sound batch of the window still loads: one bad delivery must not hold
back the rest. Batches without a manifest are still landing and are left for a later run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestration.build_summary import LayerSummary, summarize
from orchestration.dbt_invoke import Window, invoke_dbt
from orchestration.landing import REFERENCE_ENTITIES, LandingError, iter_batches, verify_batch
from orchestration.settings import landing_dir, warehouse_path


@dataclass
class BuildReport:
    success: bool
    corrupt_batches: dict[str, list[str]] = field(default_factory=dict)
    incomplete_batches: list[str] = field(default_factory=list)
    layers: list[LayerSummary] = field(default_factory=list)
    dbt_error: str | None = None


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


def build(home: Path, window: Window, full_refresh: bool = False, select: str | None = None) -> BuildReport:
    corrupt, incomplete = check_landing(home, window)
    dbt_vars: dict = window.dbt_vars()
    if corrupt:
        dbt_vars["excluded_batches"] = sorted(corrupt)
    args = ["build"]
    if full_refresh:
        args.append("--full-refresh")
    if select:
        args += ["--select", select]
    outcome = invoke_dbt(args, home, dbt_vars)
    layers = []
    if (outcome.target_dir / "run_results.json").exists():
        layers = summarize(outcome.target_dir, warehouse_path(home))
    return BuildReport(
        success=outcome.success and not corrupt,
        corrupt_batches=corrupt,
        incomplete_batches=incomplete,
        layers=layers,
        dbt_error=outcome.error,
    )
