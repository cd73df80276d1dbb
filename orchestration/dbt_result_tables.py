"""dbt's query results as agate tables, without a new type tester for every result.

Every result dbt fetches (each test's failure count, each `run_query` in a macro) becomes an agate
table through dbt_common's `table_from_data_flat`, which builds an agate TypeTester for that
table's text columns: seven data types, the date and datetime ones compiling parsedatetime's
regular expressions. That took 2.5 ms a result, 0.32 s of a one-day build's dbt process with
the GIL held (py-spy), in the node phase, where dbt's threads queue for the GIL.

A tester is defined by its two arguments alone and is only read once built (dbt itself shares
one, `DEFAULT_TYPE_TESTER`, between its threads), so strata-dbt keeps one per distinct pair.
The text columns only name which columns to force to text, so their order does not matter.
pytests/test_dbt_result_tables.py requires the same tables as dbt_common's own tester gives.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable


def install() -> None:
    from dbt_common.clients import agate_helper

    if getattr(agate_helper.build_type_tester, "strata_kept", False):
        return
    build_new = agate_helper.build_type_tester

    @functools.lru_cache(maxsize=256)
    def kept(text_columns: frozenset[str], string_null_values: tuple[str, ...] | None):
        return build_new(text_columns, string_null_values=string_null_values)

    @functools.wraps(build_new)
    def build_type_tester(text_columns: Iterable[str], string_null_values: Iterable[str] | None = ("null", "")):
        null_values = None if string_null_values is None else tuple(string_null_values)
        return kept(frozenset(text_columns), null_values)

    build_type_tester.strata_kept = True
    agate_helper.build_type_tester = build_type_tester
