"""Benchmark the orchestration overhead: a 30-day build through Dagster against the same dbt build
invoked directly, and the time to load the Dagster definitions.

    .venv/bin/python benchmarks/bench_dagster.py [--days 30 --orders-per-day 1000 --repeats 3]

The issue's targets: materializing a 30-day build through Dagster takes at most 1.15x the time of
the same `dbt build` invoked directly; loading the definitions takes under 3 seconds.

Setup: one landing of --days days is generated once (from 2024-01-01). Each round, side by side:

- direct: `dbt build` from the repository root on a fresh copy of the landing (no warehouse), with
  dbt's partial-parse file from the prepared manifest in its target directory (what a developer's
  checkout has after the first parse). No vars: `strata build` of every landed batch hands dbt
  none either (a full build), so both run the same build;
- dagster: `strata build` on another fresh copy: the landing assets, then one `dbt build` of every
  dbt asset (the window's and the seed-only lookups'), in one Dagster run in process, recorded in
  the home's instance;
- with --warm, also dagster-warm: the same, in a home whose target/ holds the parse of an earlier
  run of another window (`strata-dbt parse` with another window's vars, untimed). The timed build
  has no vars, so this measures a parse kept from a windowed run to a full one, which strata-dbt
  allows because the window never reaches the parse: the same saving a daily run of a new window
  gets.

Both the direct and the dagster invocations parse the project in full: the direct one because
the profile's STRATA_HOME differs from the one the partial-parse file was written under (and a
direct run of a new window re-parses in any case: dbt re-parses when the vars change), the
Dagster one because its target directory in the new home has none. dagster-warm keeps the saved
parse (orchestration/dbt_entry.py).

Both are timed as whole commands (wall clock, including Python start-up). Definitions load: a
fresh interpreter importing orchestration.definitions, timed inside it (so interpreter start-up
is excluded) and as a whole command, --repeats times. Medians are printed, then a markdown table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from orchestration.dbt_invoke import UNIT_TESTS_LEFT_TO_CI, dbt_environment

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RATIO_TARGET = 1.15
LOAD_TARGET_SECONDS = 3.0
FIRST_DAY = dt.date(2024, 1, 1)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree); fails loudly with the log on error."""
    cpu_before = children_cpu()
    started = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        completed = subprocess.run(command, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {completed.returncode}; see {log}")
    return wall, children_cpu() - cpu_before


def fresh_home(workdir: Path, landing: Path, name: str) -> Path:
    home = workdir / name
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir()
    os.symlink(landing, home / "landing")
    return home


def prepared_partial_parse() -> Path:
    subprocess.run(
        [str(BIN / "python"), "-c", "import orchestration.manifest as m; m.prepared_manifest_path()"], check=True
    )
    return PROJECT_DIR / "target" / "dagster" / "partial_parse.msgpack"


def dbt_env(home: Path) -> dict[str, str]:
    return {**os.environ, **dbt_environment(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}


def direct_dbt(home: Path, partial_parse: Path, log: Path) -> tuple[float, float]:
    (home / "target").mkdir()
    shutil.copy(partial_parse, home / "target" / "partial_parse.msgpack")
    # The same nodes as Strata's build, which leaves the unit tests to CI.
    return timed([str(BIN / "dbt"), "build", *UNIT_TESTS_LEFT_TO_CI], dbt_env(home), PROJECT_DIR, log)


def parse_an_earlier_window(home: Path, log: Path) -> None:
    """Leave in the home's target/ what a run of the window before the landing's leaves: its parse."""
    earlier = json.dumps({"window_start": "2023-12-31", "window_end": FIRST_DAY.isoformat()})
    timed([str(BIN / "strata-dbt"), "parse", "--vars", earlier], dbt_env(home), PROJECT_DIR, log)


def through_dagster(home: Path, log: Path, event_batch_size: str | None = None) -> tuple[float, float]:
    env = {**os.environ, "STRATA_HOME": str(home)}
    if event_batch_size is not None:
        env["DAGSTER_EVENT_BATCH_SIZE"] = event_batch_size
    return timed([str(BIN / "strata"), "build"], env, PROJECT_DIR, log)


def definitions_load(home: Path) -> tuple[float, float]:
    """(seconds importing the definitions inside the interpreter, seconds of the whole command)."""
    code = (
        "import time; t = time.perf_counter(); import orchestration.definitions as d; "
        "d.defs.resolve_asset_graph(); print(time.perf_counter() - t)"
    )
    started = time.perf_counter()
    output = subprocess.run(
        [str(BIN / "python"), "-c", code],
        env={**os.environ, "STRATA_HOME": str(home)},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return float(output.strip().splitlines()[-1]), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument(
        "--warm",
        action="store_true",
        help="also run strata build in a home that ran another window before (dbt's parse kept)",
    )
    parser.add_argument(
        "--unbatched",
        action="store_true",
        help="also run strata build with Dagster's event-by-event storage (DAGSTER_EVENT_BATCH_SIZE=0)",
    )
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="strata-bench-dagster-"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "bench.log"
    print(f"work directory {workdir}; load average at start {os.getloadavg()[0]:.2f}", flush=True)
    source = workdir / "source"
    if not (source / "landing").exists():
        env = {**os.environ, "STRATA_HOME": str(source)}
        timed(
            [
                str(BIN / "strata"),
                "generate",
                "--start",
                FIRST_DAY.isoformat(),
                "--days",
                str(args.days),
                "--orders-per-day",
                str(args.orders_per_day),
                "--no-progress",
            ],
            env,
            PROJECT_DIR,
            log,
        )
    landing = source / "landing"
    partial_parse = prepared_partial_parse()

    sides = ["direct", "dagster", *(["dagster-warm"] if args.warm else []), *(["unbatched"] if args.unbatched else [])]
    results: dict[str, list[tuple[float, float]]] = {side: [] for side in [*sides, "load"]}
    for round_number in range(1, args.repeats + 1):
        # Rotate the order so that no side always runs on a warmer page cache.
        shift = (round_number - 1) % len(sides)
        for side in sides[shift:] + sides[:shift]:
            home = fresh_home(workdir, landing, side)
            if side == "direct":
                result = direct_dbt(home, partial_parse, log)
            elif side == "dagster-warm":
                parse_an_earlier_window(home, log)
                result = through_dagster(home, log)
            else:
                result = through_dagster(home, log, "0" if side == "unbatched" else None)
            results[side].append(result)
            print(f"round {round_number} {side:8} {result[0]:7.1f} s wall {result[1]:7.1f} s CPU", flush=True)
        inner, outer = definitions_load(workdir / "dagster")
        results["load"].append((inner, outer))
        print(f"round {round_number} definitions load {inner:.2f} s (whole command {outer:.2f} s)", flush=True)

    direct = statistics.median(wall for wall, _ in results["direct"])
    dagster = statistics.median(wall for wall, _ in results["dagster"])
    load = statistics.median(inner for inner, _ in results["load"])
    load_command = statistics.median(outer for _, outer in results["load"])
    ratio = dagster / direct
    summary = {
        "days": args.days,
        "orders_per_day": args.orders_per_day,
        "repeats": args.repeats,
        "direct_dbt_build_s": round(direct, 2),
        "strata_build_through_dagster_s": round(dagster, 2),
        "ratio": round(ratio, 3),
        **(
            {"strata_build_warm_s": round(statistics.median(wall for wall, _ in results["dagster-warm"]), 2)}
            if args.warm
            else {}
        ),
        "definitions_load_s": round(load, 2),
        "definitions_load_command_s": round(load_command, 2),
        "load_average_end": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(summary, indent=2))
    print()
    print("| run | median wall | CPU s (median) |")
    print("|---|---|---|")
    direct_cpu = statistics.median(cpu for _, cpu in results["direct"])
    dagster_cpu = statistics.median(cpu for _, cpu in results["dagster"])
    print(f"| `dbt build` directly | {direct:.1f} s | {direct_cpu:.1f} |")
    print(f"| `strata build` (Dagster, in process) | {dagster:.1f} s | {dagster_cpu:.1f} |")
    if args.warm:
        warm = statistics.median(wall for wall, _ in results["dagster-warm"])
        warm_cpu = statistics.median(cpu for _, cpu in results["dagster-warm"])
        warm_ratio = warm / direct
        verdict = "met" if warm_ratio <= RATIO_TARGET else "**not met**"
        print(f"| `strata build`, home that ran another window before | {warm:.1f} s | {warm_cpu:.1f} |")
        print(f"| ratio, that home | {warm_ratio:.3f} | target {RATIO_TARGET}: {verdict} |")
    if args.unbatched:
        unbatched = statistics.median(wall for wall, _ in results["unbatched"])
        unbatched_cpu = statistics.median(cpu for _, cpu in results["unbatched"])
        print(f"| `strata build`, events stored one at a time | {unbatched:.1f} s | {unbatched_cpu:.1f} |")
    verdict = "met" if ratio <= RATIO_TARGET else "**not met**"
    print(f"| ratio | {ratio:.3f} | target {RATIO_TARGET}: {verdict} |")
    verdict = "met" if load < LOAD_TARGET_SECONDS else "**not met**"
    print(f"| definitions load | {load:.2f} s (command {load_command:.2f} s) | < {LOAD_TARGET_SECONDS} s: {verdict} |")


if __name__ == "__main__":
    main()
