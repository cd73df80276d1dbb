"""The per-layer summary printed after a build: models, rows and seconds per layer.

Seconds come from dbt's run_results.json. Rows are the tables' current sizes from the row
ledger the build keeps in the warehouse (macros/row_totals.sql): the build's own statement counts,
so the summary reads one small table instead of counting every table again. A table the ledger
does not know (built before it existed, or last changed by a run that reported no split) is
named as unknown, never counted as 0, until its next full refresh.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb

LAYERS = ("raw", "conformed", "reference", "modeled")


@dataclass(frozen=True)
class LayerSummary:
    layer: str
    models: int
    rows: int
    seconds: float
    failures: int
    # Tables of the layer whose size the ledger does not know: rows is a lower bound then.
    tables_without_total: int = 0


def _node_layers(manifest: dict) -> dict[str, str]:
    layers = {}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] == "seed":
            layers[unique_id] = "reference"
        elif node["resource_type"] in ("model", "snapshot") and len(node["fqn"]) > 2:
            layers[unique_id] = node["fqn"][1]
    return layers


def table_row_counts(warehouse: Path) -> dict[tuple[str, str], int]:
    """Row counts per (schema, table) from the warehouse's row ledger; views have none."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        ledger = connection.sql(
            "select count(*) from duckdb_tables() where schema_name = 'strata_meta' and table_name = 'row_totals'"
        ).fetchall()[0][0]
        if not ledger:
            return {}
        rows = connection.sql("select schema_name, table_name, rows_total from strata_meta.row_totals").fetchall()
    return {(schema, table): total for schema, table, total in rows}


# dbt's own result words, as in its closing "Done. PASS=.. WARN=.. ERROR=.. SKIP=.." line.
STATUS_WORDS = {
    "success": "PASS",
    "pass": "PASS",
    "warn": "WARN",
    "error": "ERROR",
    "fail": "ERROR",
    "runtime error": "ERROR",
    "skipped": "SKIP",
    "no-op": "NO-OP",
}


@dataclass(frozen=True)
class BuildSummary:
    layers: list[LayerSummary]
    statuses: dict[str, int]
    # One line per test that warned or failed, e.g. "WARN 1 no_late_arrivals_beyond_lookback_in_window".
    findings: list[str]


def summarize(target_dirs: list[Path], warehouse: Path) -> BuildSummary:
    """Summary of the dbt invocations whose artifacts are in target_dirs (one per build step)."""
    row_counts = table_row_counts(warehouse) if warehouse.exists() else {}
    models: dict[str, int] = defaultdict(int)
    rows: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    failures: dict[str, int] = defaultdict(int)
    without_total: dict[str, int] = defaultdict(int)
    statuses = {word: 0 for word in ("PASS", "WARN", "ERROR", "SKIP", "NO-OP")}
    findings = []
    for target_dir in target_dirs:
        if not (target_dir / "run_results.json").exists():
            continue
        manifest = json.loads((target_dir / "manifest.json").read_text())
        run_results = json.loads((target_dir / "run_results.json").read_text())
        layers = _node_layers(manifest)
        for result in run_results["results"]:
            unique_id = result["unique_id"]
            word = STATUS_WORDS.get(result["status"], result["status"].upper())
            statuses[word] = statuses.get(word, 0) + 1
            node = manifest["nodes"].get(unique_id, {})
            if word in ("WARN", "ERROR") and node.get("resource_type") in ("test", "unit_test"):
                findings.append(f"{word} {result.get('failures') or ''} {node['name']}".replace("  ", " "))
            layer = layers.get(unique_id)
            if layer is None:
                continue
            models[layer] += 1
            seconds[layer] += result.get("execution_time") or 0.0
            if word not in ("PASS", "NO-OP"):
                failures[layer] += 1
            if node.get("config", {}).get("materialized") in ("view", "ephemeral"):
                continue
            total = row_counts.get((node["schema"], node["alias"]))
            if total is None:
                without_total[layer] += 1
            else:
                rows[layer] += total
    layer_summaries = [
        LayerSummary(layer, models[layer], rows[layer], seconds[layer], failures[layer], without_total[layer])
        for layer in LAYERS
    ]
    return BuildSummary(layer_summaries, statuses, findings)


def format_summary(summary: BuildSummary) -> str:
    summaries = summary.layers
    lines = [f"{'layer':<10} {'models':>7} {'rows':>12} {'seconds':>8}"]
    for item in summaries:
        flag = f"  ({item.failures} failed)" if item.failures else ""
        if item.tables_without_total:
            flag += f"  (rows of {item.tables_without_total} tables unknown until a full refresh)"
        lines.append(f"{item.layer:<10} {item.models:>7} {item.rows:>12,} {item.seconds:>8.1f}{flag}")
    total_models = sum(item.models for item in summaries)
    total_rows = sum(item.rows for item in summaries)
    total_seconds = sum(item.seconds for item in summaries)
    lines.append(f"{'total':<10} {total_models:>7} {total_rows:>12,} {total_seconds:>8.1f}")
    lines.append("dbt: " + " ".join(f"{word}={count}" for word, count in summary.statuses.items()))
    lines += summary.findings
    return "\n".join(lines)
