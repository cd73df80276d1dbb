#!/usr/bin/env bash
# Side by side, two versions of Strata on the same landing data: the 90-day build from an empty
# warehouse, the one-day run on that history (alternating rounds, each from a restored copy with
# dbt's parse kept) and the 90-day full refresh. BENCHMARKS.md gives the results.
#
#   git worktree add ../before <commit>
#   benchmarks/ab_incremental.sh ../before                  # 44,000 orders a day (2x), 3 rounds
#   ORDERS_PER_DAY=22000 ROUNDS=5 benchmarks/ab_incremental.sh ../before
#
# The older tree runs on this tree's virtualenv through PYTHONPATH. WORKDIR (default
# $TMPDIR/strata-ab) is deleted and recreated: give it a directory of its own. Disk: the landing
# data and two warehouses with a copy each (about 35 GiB at 2x). About 25 minutes at 2x.
set -euo pipefail
before_tree=$(cd "${1:?usage: ab_incremental.sh BEFORE_TREE}" && pwd)
after_tree=$(cd "$(dirname "$0")/.." && pwd)
orders=${ORDERS_PER_DAY:-44000}
rounds=${ROUNDS:-3}
work=${WORKDIR:-${TMPDIR:-/tmp}/strata-ab}
case "$work" in /|/tmp|/tmp/|"$HOME"|"$HOME"/) echo "WORKDIR=$work would be deleted; name a directory of its own" >&2; exit 2 ;; esac
python=$after_tree/.venv/bin/python
history_start=2024-03-31 day=2024-06-29 day_end=2024-06-30

strata_build() { # label home build-args...
    local tree=$before_tree
    [ "$1" = after ] && tree=$after_tree
    (cd "$tree" && STRATA_HOME=$2 PYTHONPATH=$tree "$python" -c 'from orchestration.cli import run; run()' build "${@:3}")
}
timed() { # label home build-args...: prints wall seconds; the output goes to WORK/<label>.log
    local start end
    start=$(date +%s.%N)
    strata_build "$@" > "$work/$1.log" 2>&1 || { echo "FAILED: $* (see $work/$1.log)" >&2; exit 1; }
    end=$(date +%s.%N)
    "$python" -c "print(f'{$end - $start:.1f}')"
}
dbt_elapsed() { "$python" -c "import json, sys; print(round(json.load(open(sys.argv[1]))['elapsed_time'], 2))" "$1/target/run_results.json"; }

rm -rf "$work" && mkdir -p "$work/landing_home"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg); before: $(git -C "$before_tree" rev-parse --short HEAD), after: $(git -C "$after_tree" rev-parse --short HEAD)"
STRATA_HOME=$work/landing_home "$python" -m orchestration.cli generate --start $history_start --days 91 --orders-per-day "$orders" > "$work/generate.log" 2>&1
for label in before after; do
    mkdir -p "$work/$label" && ln -s "$work/landing_home/landing" "$work/$label/landing"
    seconds=$(timed $label "$work/$label" --start $history_start --end $day)
    echo "90-day build from empty, $label: $seconds s"
done
for label in before after; do
    # One run of the day keeps dbt's parse; its target/ goes into the copy every round starts from.
    cp -a "$work/$label" "$work/$label.copy" && cp -a "$work/$label" "$work/$label.run"
    timed $label "$work/$label.run" --start $day --end $day_end > /dev/null
    rm -rf "$work/$label.copy/target" && cp -a "$work/$label.run/target" "$work/$label.copy/target"
done
for round in $(seq "$rounds"); do
    for label in before after; do
        rm -rf "$work/$label.run" && cp -a "$work/$label.copy" "$work/$label.run" && sync
        seconds=$(timed $label "$work/$label.run" --start $day --end $day_end)
        echo "one day, round $round, $label: $seconds s (dbt's elapsed $(dbt_elapsed "$work/$label.run") s)"
    done
done
rm -rf "$work/before.run" "$work/after.run" "$work/before.copy" "$work/after.copy"
for label in before after; do
    seconds=$(timed $label "$work/$label" --start $history_start --end $day --full-refresh)
    echo "90-day full refresh, $label: $seconds s"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
