"""dagster-dbt as the orchestrating process uses it: loaded without dbt-core.

dagster-dbt imports dbt-core when it can, and then evaluates even the default selection with
dbt's selection engine: about 1 s of a `strata build` before it can start dbt (BENCHMARKS.md).
The orchestrating process never runs dbt in itself: every dbt command is a `strata-dbt`
subprocess, and StrataDbtCliResource (orchestration/manifest.py) skips dagster-dbt's in-process
dbt adapter. Without dbt-core, dagster-dbt uses its own definitions of dbt's node types and
statuses (its mode for dbt Fusion, which is not a Python package) and reads the default
selection, every node, from the manifest directly.

So dagster-dbt is imported here with dbt-core hidden from it, unless something already imported
dagster-dbt or dbt-core into the process. What needs dbt-core's selection engine is dbt
selection syntax: `strata build --select` imports dagster_dbt before this module. Every other
module takes dagster-dbt's names from this one (ruff's banned-api rule, pyproject.toml), so that
the first import is this one. docs/orchestration.md, "dbt-core stays out of the orchestrating
process"; pytests/test_dagster_dbt_api.py shows both modes build the same asset graph.
"""

from __future__ import annotations

import sys
from importlib.abc import MetaPathFinder


class _DbtCoreHidden(MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname == "dbt" or fullname.startswith("dbt."):
            raise ModuleNotFoundError(f"{fullname} is kept out of the orchestrating process", name=fullname)
        return None


if "dagster_dbt" not in sys.modules and "dbt" not in sys.modules:
    _hidden = _DbtCoreHidden()
    sys.meta_path.insert(0, _hidden)
    try:
        import dagster_dbt  # noqa: F401, TID251
    finally:
        sys.meta_path.remove(_hidden)

from dagster_dbt import (  # noqa: E402, TID251
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    asset_utils,
    build_dbt_asset_selection,
    dbt_assets,
)
from dagster_dbt.compat import DBT_PYTHON_VERSION  # noqa: E402, TID251

__all__ = [
    "DBT_PYTHON_VERSION",
    "DagsterDbtTranslator",
    "DagsterDbtTranslatorSettings",
    "DbtCliInvocation",
    "DbtCliResource",
    "DbtProject",
    "asset_utils",
    "build_dbt_asset_selection",
    "dbt_assets",
]
