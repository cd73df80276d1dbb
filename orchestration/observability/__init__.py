"""Build observability from dbt's artifacts: parse, keep a history, flag regressions, report.

One module per job: `artifacts` (run_results + manifest -> typed records), `store` (the SQLite
history), `flags` (regression rules over that history) and `report` (`strata report`).
See docs/observability.md.
"""
