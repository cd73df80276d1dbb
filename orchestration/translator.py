"""How dbt nodes become Dagster assets: the one place Strata's naming rules for the graph live.

- keys carry the layer: `conformed/cnf_orders`; dbt sources are the landing assets `landing/<entity>`;
- groups are the layers (the dbt `meta.layer` set per folder in dbt_project.yml);
- owners come from the dbt YAML (`meta.owner`), descriptions from the model's description;
- a node is daily-partitioned when what it holds depends on the window, that is when it reads
  landing data directly or through its parents; nodes built from seeds alone (calendars,
  status and event lookups) are unpartitioned and built without window vars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dagster import AssetKey, PartitionsDefinition

from orchestration.dagster_dbt_api import DagsterDbtTranslator, DagsterDbtTranslatorSettings

LANDING_GROUP = "landing"
ASSET_RESOURCE_TYPES = ("model", "seed", "snapshot")


def landing_asset_key(entity: str) -> AssetKey:
    return AssetKey([LANDING_GROUP, entity])


def window_driven_ids(manifest: Mapping[str, Any]) -> frozenset[str]:
    """Models, seeds and snapshots that read a source directly or through any parent."""
    parents = manifest["parent_map"]
    driven: dict[str, bool] = {}

    def reads_landing(unique_id: str) -> bool:
        if unique_id not in driven:
            driven[unique_id] = False  # guards against revisiting while the answer is pending
            driven[unique_id] = any(
                parent.startswith("source.") or reads_landing(parent) for parent in parents.get(unique_id, ())
            )
        return driven[unique_id]

    return frozenset(
        unique_id
        for unique_id, node in manifest["nodes"].items()
        if node["resource_type"] in ASSET_RESOURCE_TYPES and reads_landing(unique_id)
    )


def layer_of(dbt_resource_props: Mapping[str, Any]) -> str:
    if dbt_resource_props["resource_type"] == "source":
        return LANDING_GROUP
    layer = (dbt_resource_props.get("meta") or {}).get("layer") or dbt_resource_props.get("config", {}).get(
        "meta", {}
    ).get("layer")
    if not layer:
        raise ValueError(
            f"{dbt_resource_props['unique_id']} has no meta.layer: put it under a layer folder of dbt_project.yml"
        )
    return layer


class StrataTranslator(DagsterDbtTranslator):
    def __init__(self, partitions_def: PartitionsDefinition, partitioned_ids: frozenset[str]):
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self._partitions_def = partitions_def
        self._partitioned_ids = partitioned_ids

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return landing_asset_key(dbt_resource_props["name"])
        return AssetKey([layer_of(dbt_resource_props), dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return layer_of(dbt_resource_props)

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> Sequence[str] | None:
        owner = (dbt_resource_props.get("meta") or {}).get("owner")
        return [owner] if owner else None

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        tags["strata/layer"] = layer_of(dbt_resource_props)
        return tags

    def get_partitions_def(self, dbt_resource_props: Mapping[str, Any]) -> PartitionsDefinition | None:
        return self._partitions_def if dbt_resource_props["unique_id"] in self._partitioned_ids else None
