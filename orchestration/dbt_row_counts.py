"""The rows each dbt statement wrote, in its adapter_response (run_results.json and dbt's events).

dbt-duckdb answers every statement with a bare "OK" (duckdb/dbt-duckdb#496), yet DuckDB reports on
the cursor how many rows each CREATE TABLE AS, INSERT, UPDATE, DELETE and MERGE wrote (`rowcount`;
-1 for statements that write no table rows). Reading it costs nothing: the statement already
counted. This module is the change Strata would propose upstream, kept to the connection manager:

- `execute` runs a script of several statements one statement at a time, in the same transaction,
  because DuckDB reports only the last statement's count. The counts are summed by statement type:
  INSERT into rows_inserted, UPDATE into rows_updated, DELETE into rows_deleted, and all of them
  into rows_affected. A MERGE reports only its total, so a script with a MERGE leaves the split
  null; Strata's merge strategy is written as DELETE / INSERT / UPDATE statements for this reason
  (macros/merge_config.sql). A CREATE TABLE AS inserts every row of a new table.
- A statement that wrote no table rows (a view, a schema, a SELECT) leaves every count null: unknown
  is null, never -1 or 0. (dbt serializes the response without nulls, so the keys are absent.)

rows_total, the table's size after the statement, needs the relation's previous size, which only
the materialization knows: the post-hook in macros/row_totals.sql fills it through `record_total`.

dbt-duckdb loads plugins named in profiles.yml into the dbt process; that is the one extension
point it reads from the profile, so the `Plugin` below exists to install the two methods on
dbt-duckdb's connection manager when the first connection opens. It changes nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb
from dbt.adapters.contracts.connection import AdapterResponse
from dbt.adapters.duckdb.connections import DuckDBConnectionManager
from dbt.adapters.duckdb.plugins import BasePlugin

COUNTED_TYPES = {"INSERT": "rows_inserted", "UPDATE": "rows_updated", "DELETE": "rows_deleted"}


@dataclass
class RowCountResponse(AdapterResponse):
    rows_inserted: int | None = None
    rows_updated: int | None = None
    rows_deleted: int | None = None
    rows_total: int | None = None

    def record_total(self, total: Any) -> str:
        """Called from the row-total post-hook (Jinja), which may not assign attributes itself."""
        self.rows_total = None if total is None else int(total)
        return ""


@dataclass
class StatementCounts:
    """Counts of the statements of one `execute` call, accumulated in order."""

    affected: int | None = None
    split: dict[str, int] | None = None
    kinds: tuple[str, ...] = ()
    split_known: bool = True

    def add(self, statement_type: str | None, rowcount: int) -> None:
        # Kept even without a count: a CREATE followed by an INSERT (dbt's way to build a table
        # with an enforced contract) tells the row-total hook that the table was rebuilt. A lone
        # statement without a count comes untyped (None): nothing reads its type.
        if statement_type is not None:
            self.kinds += (statement_type,)
        if rowcount is None or rowcount < 0:
            return
        self.affected = (self.affected or 0) + rowcount
        split = self.split or {name: 0 for name in COUNTED_TYPES.values()}
        if statement_type == "CREATE":
            split["rows_inserted"] += rowcount
        elif statement_type in COUNTED_TYPES:
            split[COUNTED_TYPES[statement_type]] += rowcount
        else:
            self.split_known = False
        self.split = split

    def code(self) -> str:
        """The statement types in order of first appearance, e.g. CREATE+INSERT or INSERT+UPDATE."""
        return "+".join(dict.fromkeys(self.kinds))

    def response(self) -> RowCountResponse:
        if self.affected is None:
            return RowCountResponse(_message="OK", code=self.code() or None)
        split = self.split if self.split_known else {}
        return RowCountResponse(
            _message=f"OK {self.affected}",
            code=self.code(),
            rows_affected=self.affected,
            **split,
        )


def may_hold_several_statements(sql: str) -> bool:
    """False only when the text cannot be a script: DuckDB separates statements with `;`. A `;` in
    a literal or a comment gives a needless parse, never a wrong count."""
    return ";" in sql.rstrip().rstrip(";")


def parse_statements(connection_manager: DuckDBConnectionManager, sql: str) -> list[tuple[str, str]] | None:
    """(text, type) of each statement, or None when DuckDB cannot parse it: then it runs as given
    and fails with DuckDB's own error, as it would without this module."""
    cursor = connection_manager.get_thread_connection().handle.cursor()
    try:
        statements = cursor.extract_statements(sql)
    except duckdb.Error:
        return None
    if len(statements) == 1:
        return [(sql, statements[0].type.name)]
    return [(statement.query, statement.type.name) for statement in statements]


def statement_type(connection_manager: DuckDBConnectionManager, sql: str) -> str:
    parsed = parse_statements(connection_manager, sql)
    return parsed[0][1] if parsed and len(parsed) == 1 else "UNKNOWN"


def execute_counting_rows(
    self: DuckDBConnectionManager,
    sql: str,
    auto_begin: bool = False,
    fetch: bool = False,
    limit: int | None = None,
) -> tuple[AdapterResponse, Any]:
    from dbt_common.clients.agate_helper import empty_table

    if self.disable_transactions:
        auto_begin = False
    sql = self._add_query_comment(sql)
    # Most calls are one statement that writes nothing (tests, catalog queries): parsing them
    # only to learn their type cost 0.7-0.8 s of thread time per one-day build (BENCHMARKS.md). A
    # single statement is typed after it ran, and only when it reports a count.
    statements = (may_hold_several_statements(sql) and parse_statements(self, sql)) or [(sql, None)]
    counts = StatementCounts()
    for text, known_type in statements:
        _, cursor = self.add_query(text, auto_begin)
        rowcount = cursor.rowcount
        if known_type is None and rowcount is not None and rowcount >= 0:
            known_type = statement_type(self, text)
        counts.add(known_type, rowcount)
    table = self.get_result_from_cursor(cursor, limit) if fetch else empty_table()
    return counts.response(), table


def install() -> None:
    DuckDBConnectionManager.execute = execute_counting_rows


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        install()
