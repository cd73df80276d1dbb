"""The layer contract fails the build when a model reads a layer it may not use."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def dbt_build(project: Path, home: Path, select: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "STRATA_HOME": str(home),
        "DBT_TARGET_PATH": str(home / "target"),
        "DBT_LOG_PATH": str(home / "logs"),
    }
    return subprocess.run(
        [str(BIN / "dbt"), "build", "--select", select, "--project-dir", str(project), "--profiles-dir", str(project)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("folder", "name", "sql", "message"),
    [
        (
            "modeled",
            "fct_from_raw",
            "select * from {{ ref('raw_orders') }}",
            "modeled model fct_from_raw reads raw raw_orders",
        ),
        (
            "conformed",
            "cnf_from_source",
            "select * from {{ source('landing', 'orders') }}",
            "conformed model cnf_from_source reads source orders",
        ),
        (
            "reference",
            "ref_from_modeled",
            "select * from {{ ref('fct_orders') }}",
            "reference model ref_from_modeled reads modeled fct_orders",
        ),
        (
            "raw",
            "raw_from_conformed",
            "select * from {{ ref('cnf_orders') }}",
            "raw model raw_from_conformed reads conformed cnf_orders",
        ),
    ],
)
def test_reading_a_forbidden_layer_fails_the_build(project_copy_factory, tmp_path, folder, name, sql, message):
    project = project_copy_factory()
    (project / "models" / folder / f"{name}.sql").write_text(sql + "\n")

    result = dbt_build(project, tmp_path, select=name)

    assert result.returncode != 0
    assert "Layer rule violated" in result.stdout
    assert message in result.stdout


def test_the_project_as_committed_obeys_the_layer_rules(project_copy_factory, tmp_path):
    project = project_copy_factory()
    result = dbt_build(project, tmp_path, select="+ref_order_statuses")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Layer rule violated" not in result.stdout
