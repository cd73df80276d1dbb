"""The per-layer summary printed after a build: models, rows and seconds per layer.

Seconds come from dbt's run_results.json. Rows are the tables' current sizes: DuckDB's catalog
estimate (duckdb_tables().estimated_size) still counts rows deleted by delete+insert until a
vacuum, so it is not exact; an unfiltered count(*) is, and DuckDB answers it from row-group
metadata and delete masks without reading column data (5 ms on 10 million rows here).
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


def _node_layers(manifest: dict) -> dict[str, str]:
    layers = {}
    for unique_id, node in manifest["nodes"].items():
        if node["resource_type"] == "seed":
            layers[unique_id] = "reference"
        elif node["resource_type"] in ("model", "snapshot") and len(node["fqn"]) > 2:
            layers[unique_id] = node["fqn"][1]
    return layers


def table_row_counts(warehouse: Path) -> dict[tuple[str, str], int]:
    """Exact row counts per (schema, table) of the warehouse's tables (views have none)."""
    with duckdb.connect(str(warehouse), read_only=True) as connection:
        tables = connection.sql("select schema_name, table_name from duckdb_tables() where not internal").fetchall()
        counts = {}
        for schema, table in tables:
            relation = f'"{schema}"."{table}"'
            counts[(schema, table)] = connection.sql(f"select count(*) from {relation}").fetchall()[0][0]
    return counts


def summarize(target_dir: Path, warehouse: Path) -> list[LayerSummary]:
    manifest = json.loads((target_dir / "manifest.json").read_text())
    run_results = json.loads((target_dir / "run_results.json").read_text())
    layers = _node_layers(manifest)
    row_counts = table_row_counts(warehouse) if warehouse.exists() else {}

    models: dict[str, int] = defaultdict(int)
    rows: dict[str, int] = defaultdict(int)
    seconds: dict[str, float] = defaultdict(float)
    failures: dict[str, int] = defaultdict(int)
    for result in run_results["results"]:
        unique_id = result["unique_id"]
        layer = layers.get(unique_id)
        if layer is None:
            continue
        node = manifest["nodes"][unique_id]
        models[layer] += 1
        seconds[layer] += result.get("execution_time") or 0.0
        if result["status"] not in ("success", "pass"):
            failures[layer] += 1
        rows[layer] += row_counts.get((node["schema"], node["alias"]), 0)
    return [LayerSummary(layer, models[layer], rows[layer], seconds[layer], failures[layer]) for layer in LAYERS]


def format_summary(summaries: list[LayerSummary]) -> str:
    lines = [f"{'layer':<10} {'models':>7} {'rows':>12} {'seconds':>8}"]
    for item in summaries:
        flag = f"  ({item.failures} failed)" if item.failures else ""
        lines.append(f"{item.layer:<10} {item.models:>7} {item.rows:>12,} {item.seconds:>8.1f}{flag}")
    total_models = sum(item.models for item in summaries)
    total_rows = sum(item.rows for item in summaries)
    total_seconds = sum(item.seconds for item in summaries)
    lines.append(f"{'total':<10} {total_models:>7} {total_rows:>12,} {total_seconds:>8.1f}")
    return "\n".join(lines)
