"""dbt's result tables with kept type testers (orchestration/dbt_result_tables.py).

Each case is converted in a fresh Python process, once with dbt_common as installed and once
after strata-dbt's install(), and the two tables must agree in column names, types and values.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

CONVERT = textwrap.dedent(
    """
    import datetime as dt, decimal, json, sys
    if sys.argv[1] == "kept":
        from orchestration.dbt_entry import install
        install()
    from dbt_common.clients import agate_helper

    rows = [
        {"n": 1, "amount": decimal.Decimal("2.50"), "day": dt.date(2024, 1, 2),
         "at": dt.datetime(2024, 1, 2, 3, 4, 5), "code": "005", "note": "null", "flag": True,
         "tags": ["a", "b"], "empty": None},
        {"n": None, "amount": None, "day": None, "at": None, "code": "", "note": "2024-01-02",
         "flag": None, "tags": {"k": 1}, "empty": None},
    ]
    tables = []
    for columns in (["n", "amount", "day", "at", "code", "note", "flag", "tags", "empty"], ["code", "n"], ["n"]):
        for data in (rows, rows[:1], []):
            table = agate_helper.table_from_data_flat(data, columns)
            tables.append({
                "names": list(table.column_names),
                "types": [type(t).__name__ for t in table.column_types],
                "rows": [[repr(value) for value in row.values()] for row in table.rows],
            })
    table = agate_helper.table_from_rows([["1", "x"], ["", "null"]], ["a", "b"], text_only_columns=["b", "a"])
    tables.append({"types": [type(t).__name__ for t in table.column_types],
                   "rows": [[repr(value) for value in row.values()] for row in table.rows]})
    same = agate_helper.build_type_tester(["b", "a"], string_null_values=()) is agate_helper.build_type_tester(
        ("a", "b"), string_null_values=[])
    print(json.dumps({"tables": tables, "same_tester": same}))
    """
)


def convert(mode: str) -> dict:
    finished = subprocess.run(
        [sys.executable, "-c", CONVERT, mode], capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stderr
    return json.loads(finished.stdout)


@pytest.fixture(scope="module")
def converted() -> dict[str, dict]:
    return {mode: convert(mode) for mode in ("dbt", "kept")}


def test_kept_testers_give_the_tables_dbt_gives(converted):
    assert converted["kept"]["tables"] == converted["dbt"]["tables"]
    # The cases do exercise the typing: numbers, dates, forced text and nulls all appear.
    types = {name for table in converted["dbt"]["tables"] for name in table["types"]}
    assert {"Integer", "Number", "Date", "DateTime", "Text", "Boolean"} <= types


def test_one_tester_serves_every_result_with_the_same_text_columns(converted):
    assert converted["dbt"]["same_tester"] is False
    assert converted["kept"]["same_tester"] is True
