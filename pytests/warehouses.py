"""Comparing whole warehouses, as the incremental property tests do."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb

LAYERS = ("raw", "conformed", "reference", "modeled")
# Columns whose value depends on when a build ran, not on what it loaded: raw's `_loaded_at` is the
# start of the dbt invocation. Comparing two independently built homes, it is the only column
# that differs.
RUN_DEPENDENT_COLUMNS = frozenset({"_loaded_at"})


def warehouse(home: Path) -> Path:
    return home / "warehouse.duckdb"


def scalar(connection, sql: str):
    return connection.sql(sql).fetchall()[0][0]


def base_tables(connection, catalog: str) -> set[tuple[str, str]]:
    """(schema, table) of every base table of the four layers in an attached warehouse.

    Views are left out: they are defined on the warehouse's own catalog name and are computed
    from the tables compared here.
    """
    layers = ", ".join(f"'{layer}'" for layer in LAYERS)
    rows = connection.sql(
        f"""
        select table_schema, table_name
        from information_schema.tables
        where table_catalog = '{catalog}' and table_type = 'BASE TABLE' and table_schema in ({layers})
        """
    ).fetchall()
    return set(rows)


def table_columns(connection, catalog: str, schema: str, table: str) -> list[tuple[str, str]]:
    """(column, type) of a table, in table order."""
    return connection.sql(
        f"""
        select column_name, data_type
        from information_schema.columns
        where table_catalog = '{catalog}' and table_schema = '{schema}' and table_name = '{table}'
        order by ordinal_position
        """
    ).fetchall()


def table_differences(connection, schema: str, table: str, ignore: frozenset[str]) -> list[str]:
    """What differs between l.<schema>.<table> and r.<schema>.<table>, compared by column name."""
    left = {name: kind for name, kind in table_columns(connection, "l", schema, table) if name not in ignore}
    right = {name: kind for name, kind in table_columns(connection, "r", schema, table) if name not in ignore}
    if left != right:
        return [f"{schema}.{table}: columns differ: {sorted(set(left.items()) ^ set(right.items()))}"]
    columns = ", ".join(f'"{name}"' for name in left)
    left_rows = scalar(connection, f"select count(*) from l.{schema}.{table}")
    right_rows = scalar(connection, f"select count(*) from r.{schema}.{table}")
    only_left_sql = f"select {columns} from l.{schema}.{table} except all select {columns} from r.{schema}.{table}"
    only_right_sql = f"select {columns} from r.{schema}.{table} except all select {columns} from l.{schema}.{table}"
    only_left = scalar(connection, f"select count(*) from ({only_left_sql})")
    only_right = scalar(connection, f"select count(*) from ({only_right_sql})")
    if (left_rows, only_left, only_right) == (right_rows, 0, 0):
        return []
    samples = [
        f"  only {side}: {row}"
        for side, sql in (("left", only_left_sql), ("right", only_right_sql))
        for row in connection.sql(f"{sql} limit 3").fetchall()
    ]
    return [
        f"{schema}.{table}: {left_rows} rows vs {right_rows}, {only_left} only left, {only_right} only right",
        *samples,
    ]


def warehouse_differences(
    left: Path, right: Path, tables: set[tuple[str, str]] | None = None, ignore=RUN_DEPENDENT_COLUMNS
) -> tuple[list[str], set[tuple[str, str]]]:
    """(differences, tables compared) between two homes' warehouses, opened read-only together.

    `tables` defaults to every base table of the four layers found in either warehouse.
    """
    with duckdb.connect() as connection:
        connection.execute(f"attach '{warehouse(left)}' as l (read_only)")
        connection.execute(f"attach '{warehouse(right)}' as r (read_only)")
        left_tables, right_tables = base_tables(connection, "l"), base_tables(connection, "r")
        if tables is None:
            tables = left_tables | right_tables
        problems = [f"{schema}.{table}: only in the left warehouse" for schema, table in tables - right_tables]
        problems += [f"{schema}.{table}: only in the right warehouse" for schema, table in tables - left_tables]
        for schema, table in sorted(tables & left_tables & right_tables):
            problems += table_differences(connection, schema, table, ignore)
    return problems, tables


def manifest_models(home: Path) -> dict[str, dict]:
    """model name -> manifest node, from the last dbt run of a home."""
    manifest = json.loads((home / "target" / "manifest.json").read_text())
    return {node["name"]: node for node in manifest["nodes"].values() if node["resource_type"] == "model"}


def merge_models(home: Path) -> dict[str, tuple[str, list[str]]]:
    """model name -> (schema, unique key columns) for every incremental model outside raw."""
    models = {}
    for name, node in manifest_models(home).items():
        config = node["config"]
        if config["materialized"] != "incremental" or node["schema"] == "raw":
            continue
        key = config["unique_key"]
        models[name] = (node["schema"], [key] if isinstance(key, str) else list(key))
    return models


def duplicate_keys_by_model(home: Path) -> dict[str, list[tuple]]:
    """model name -> up to five keys held more than once (empty when the key is clean)."""
    found = {}
    with duckdb.connect(str(warehouse(home)), read_only=True) as connection:
        for name, (schema, key) in merge_models(home).items():
            columns = ", ".join(key)
            found[name] = connection.sql(
                f"select {columns}, count(*) from {schema}.{name} group by {columns} having count(*) > 1 limit 5"
            ).fetchall()
    return found


def table_checksums(home: Path, schemas=("conformed", "modeled")) -> dict[str, tuple[int, int]]:
    """table -> (rows, order-independent checksum of every row) for the base tables of schemas."""
    sums = {}
    with duckdb.connect(str(warehouse(home)), read_only=True) as connection:
        tables = connection.sql(
            "select schema_name, table_name from duckdb_tables()"
            f" where schema_name in ({', '.join(repr(schema) for schema in schemas)})"
        ).fetchall()
        for schema, table in tables:
            sums[f"{schema}.{table}"] = tuple(
                connection.sql(f"select count(*), coalesce(sum(hash(t)), 0) from {schema}.{table} as t").fetchall()[0]
            )
    return sums
