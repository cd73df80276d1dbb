#!/usr/bin/env bash
# pre-commit hook for dbt files: sqlfluff on the changed SQL, and dbt parse followed by the
# conventions check on the manifest. The two halves share nothing (sqlfluff's dbt templater
# compiles on its own), so they run side by side: on two cores this hook takes the longer half,
# not the sum (BENCHMARKS.md, "Lint and pre-commit").
set -uo pipefail
home=.strata/lint
mkdir -p "$home"

sql=()
for file in "$@"; do
    [[ $file =~ ^(models|tests)/.*\.sql$ ]] && sql+=("$file")
done

sqlfluff_log=$(mktemp)
trap 'rm -f "$sqlfluff_log"' EXIT
if ((${#sql[@]})); then
    # The dbt templater opens the warehouse while compiling: a scratch data home, not the real one.
    STRATA_HOME=$home .venv/bin/sqlfluff lint --disable-progress-bar "${sql[@]}" >"$sqlfluff_log" 2>&1 &
    sqlfluff_pid=$!
fi

status=0
STRATA_HOME=$home DBT_TARGET_PATH=$home/target DBT_LOG_PATH=$home/logs \
    .venv/bin/dbt parse --quiet --profiles-dir . || status=1
if ((status == 0)); then
    .venv/bin/python -m orchestration.conventions "$home/target" || status=1
fi

if ((${#sql[@]})); then
    wait "$sqlfluff_pid" || { status=1; echo "sqlfluff:"; }
    cat "$sqlfluff_log"
fi
exit $status
