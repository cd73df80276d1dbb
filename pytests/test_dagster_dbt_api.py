"""dbt-core stays out of the orchestrating process, and dagster-dbt builds the same graph without it.

Each probe runs in a fresh interpreter: whether dagster-dbt sees dbt-core is decided by the first
import in a process (orchestration/dagster_dbt_api.py), and this test process has made its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from orchestration.settings import PROJECT_DIR

ASSET_GRAPH_PROBE = """
import json, sys
if sys.argv[1] == "with-dbt-core":
    import dagster_dbt  # what `strata build --select` does first
from orchestration.dagster_dbt_api import DBT_PYTHON_VERSION
from orchestration.definitions import build_definitions

graph = build_definitions().resolve_asset_graph()
assets = {}
for key in graph.get_all_asset_keys():
    node = graph.get(key)
    assets[key.to_user_string()] = {
        "group": node.group_name,
        "partitions": str(node.partitions_def),
        "upstream": sorted(parent.to_user_string() for parent in node.parent_keys),
        "kinds": sorted(node.kinds),
        "owners": sorted(node.owners),
        "description": node.description,
        "metadata": sorted(node.metadata),
        "code_version": node.code_version,
        "checks": sorted(check.name for check in node.check_keys),
    }
print(json.dumps({
    "dbt_core_in_dagster_dbt": DBT_PYTHON_VERSION is not None,
    "dbt_modules": sorted(name for name in sys.modules if name == "dbt" or name.startswith("dbt.")),
    "assets": assets,
}))
"""

STAND_IN_PROBE = """
import json
import orchestration.dagster_dbt_api  # loads dagster-dbt without dbt-core, as the CLI and the UI do
from dagster_dbt import compat
assert compat.DBT_PYTHON_VERSION is None
from dbt.contracts.results import NodeStatus, TestStatus
from dbt.node_types import REFABLE_NODE_TYPES, NodeType

def values(enum):
    return {member.name: str(member.value) for member in enum}

print(json.dumps({
    "dbt": {"NodeStatus": values(NodeStatus), "TestStatus": values(TestStatus), "NodeType": values(NodeType),
            "refable": sorted(str(t) for t in REFABLE_NODE_TYPES)},
    "stand_in": {"NodeStatus": values(compat.NodeStatus), "TestStatus": values(compat.TestStatus),
                 "NodeType": values(compat.NodeType), "refable": sorted(compat.REFABLE_NODE_TYPES)},
}))
"""


def run_probe(code: str, *args: str, home) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=PROJECT_DIR,
        env={**os.environ, "STRATA_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_strata_definitions_load_without_dbt_core_and_build_the_graph_they_build_with_it(tmp_path):
    without = run_probe(ASSET_GRAPH_PROBE, "default", home=tmp_path)
    assert not without["dbt_core_in_dagster_dbt"]
    assert without["dbt_modules"] == [], "the orchestrating process imported dbt-core"

    with_dbt_core = run_probe(ASSET_GRAPH_PROBE, "with-dbt-core", home=tmp_path)
    assert with_dbt_core["dbt_core_in_dagster_dbt"], "the probe did not load dagster-dbt with dbt-core"
    assert "dbt.graph.selector" in with_dbt_core["dbt_modules"]

    assert len(without["assets"]) > 40
    assert sum(len(asset["checks"]) for asset in without["assets"].values()) > 150
    assert without["assets"] == with_dbt_core["assets"]


def test_dagster_dbts_own_node_types_and_statuses_agree_with_dbt_cores(tmp_path):
    """Without dbt-core, dagster-dbt reads dbt's events with its own copies of dbt's enums. A status
    they lacked would be misread (a test's `warn` taken for a failure); a member spelled differently
    would never match."""
    probe = run_probe(STAND_IN_PROBE, home=tmp_path)
    dbt, stand_in = probe["dbt"], probe["stand_in"]
    for enum in ("NodeStatus", "TestStatus", "NodeType"):
        shared = dbt[enum].keys() & stand_in[enum].keys()
        assert len(shared) >= 5, enum
        assert {name: dbt[enum][name] for name in shared} == {name: stand_in[enum][name] for name in shared}, enum
    for enum in ("NodeStatus", "TestStatus"):
        assert set(dbt[enum].values()) <= set(stand_in[enum].values()), enum
    # Node types dbt-core has and the copy lacks (`function`, dbt 1.11's UDFs) become neither
    # assets nor checks in either mode: only refable nodes and tests do.
    assert dbt["refable"] == stand_in["refable"]
    assert "Test" in stand_in["NodeType"] and "Unit" in stand_in["NodeType"]
