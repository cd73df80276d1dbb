"""Benchmark the row counts: what they cost, and against dagster-dbt's fetch_row_counts().

    .venv/bin/python benchmarks/bench_row_counts.py [--days 30 --orders-per-day 20000 --repeats 5]

The issue's targets: the counts add under 1% to build wall time; the split of a merge into
inserted / updated / deleted adds at most 25% to the merge's own time; against dagster-dbt's
fetch_row_counts() on the same build and data (10 million rows or more): both wall times, the
ratio, and the delay from a model finishing to its metadata appearing in Dagster.

Setup: one landing of --days days is generated and fully built once (the base warehouse).

1. Counts on/off. Each round, side by side on fresh copies of the base warehouse: a one-day
   incremental `dbt build` of the last day with the repository's profile (the row-count plugins)
   and with the same profile without them. Wall clock of the dbt command.
2. Split against MERGE. On a copy of the base warehouse, for the largest merged tables: the last
   day's rows are removed and the last lookback window re-merged from a copy of itself, once as
   one MERGE and once as strata_merge's INSERT + UPDATE statements, alternating, each inside a
   transaction that is rolled back. Only the merge statements are timed.
3. Row counts in Dagster. The whole build materialized in process twice on fresh homes: as stock
   dagster-dbt with `.stream().fetch_row_counts()` (no plugins), and as Strata does (plugins, counts
   from dbt's events). Wall time of each, and per model the delay from dbt finishing the model
   (run_results' execute end) to its materialization with a row count in the event log.
4. The counts' own work. One more one-day build, dbt in process, with timers around the plugin's
   statement parsing and the row ledger's statements: what wall clock (which moves by a few
   percent between identical runs) cannot resolve. `STRATA_THREADS=1` measures it without overlap.
"""

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
sys.path.insert(0, str(PROJECT_DIR))

# (table, key columns, business date column) of the merged tables timed in part 2.
MERGED_TABLES = [
    ("conformed.cnf_events", ["event_date", "event_id"], "event_date"),
    ("modeled.fct_orders", ["order_date", "order_id"], "order_date"),
    ("conformed.cnf_order_items", ["order_date", "order_item_id"], "order_date"),
]
LOOKBACK_DAYS = 3


def run(command: list[str], env: dict[str, str], log: Path) -> float:
    started = time.perf_counter()
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        completed = subprocess.run(command, env=env, cwd=PROJECT_DIR, stdout=out, stderr=subprocess.STDOUT, check=False)
    if completed.returncode != 0:
        sys.exit(f"{' '.join(command)} exited with {completed.returncode}; see {log}")
    return time.perf_counter() - started


def profiles_without_plugins(workdir: Path) -> Path:
    directory = workdir / "profiles_stock"
    directory.mkdir(exist_ok=True)
    lines = (PROJECT_DIR / "profiles.yml").read_text().splitlines()
    kept, skipping = [], False
    for line in lines:
        if line.strip() == "plugins:":
            skipping = True
            continue
        if skipping and line.strip().startswith("- module:"):
            continue
        skipping = False
        kept.append(line)
    (directory / "profiles.yml").write_text("\n".join(kept) + "\n")
    return directory


def dbt_command(profiles: Path, home: Path, *args: str) -> list[str]:
    return [str(BIN / "dbt"), *args, "--profiles-dir", str(profiles), "--target-path", str(home / "target")]


def home_from(base: Path | None, landing: Path, path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.symlink(landing, path / "landing")
    if base is not None:
        shutil.copy(base / "warehouse.duckdb", path / "warehouse.duckdb")
    return path


def one_day_window(day: dt.date) -> dict[str, str]:
    return {"window_start": day.isoformat(), "window_end": (day + dt.timedelta(days=1)).isoformat()}


def counts_on_off(args, base: Path, landing: Path, workdir: Path, stock: Path, last_day: dt.date, log: Path):
    window = one_day_window(last_day)
    # (profiles, vars) per variant. "without" is stock dbt-duckdb: no plugins and no ledger
    # statements; "statement counts only" keeps the plugins and drops the ledger, which tells the
    # two parts of the cost apart.
    variants = {
        "with counts": (PROJECT_DIR, window),
        "statement counts only": (PROJECT_DIR, {**window, "record_row_totals": False}),
        "without": (stock, {**window, "record_row_totals": False}),
    }
    times: dict[str, list[float]] = {label: [] for label in variants}
    for round_number in range(args.repeats):
        # Rotate the order so that no variant always runs first (cold caches) or last.
        labels = list(variants)
        shift = round_number % len(labels)
        for label in labels[shift:] + labels[:shift]:
            profiles, dbt_vars = variants[label]
            home = home_from(base, landing, workdir / "onoff")
            env = {**os.environ, "STRATA_HOME": str(home)}
            times[label].append(run(dbt_command(profiles, home, "build", "--vars", json.dumps(dbt_vars)), env, log))
    return {label: statistics.median(values) for label, values in times.items()}, times


def plugin_thread_time(base: Path, landing: Path, workdir: Path, last_day: dt.date) -> dict[str, float]:
    """The counts' own work in one one-day build (dbt in process, timers around it).

    Wall-clock medians move by a few percent between identical runs, more than the counts can
    cost. Timed here, as elapsed seconds summed over dbt's threads: the plugin's parsing (splitting
    scripts, typing statements), the row ledger's statements, and every other statement for scale
    (parse time is inside the statement it belongs to). Not separable by timers: that a split
    script reaches DuckDB as several `add_query` calls instead of one."""
    import threading

    from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    from dbt.cli.main import dbtRunner

    import orchestration.dbt_row_counts as row_counts

    spent = {"parse_calls": 0, "parse_s": 0.0, "execute_calls": 0, "execute_s": 0.0, "ledger_calls": 0, "ledger_s": 0.0}
    lock = threading.Lock()

    def timed(name_of: Callable[..., str], function):
        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                with lock:
                    name = name_of(*args, **kwargs)
                    spent[f"{name}_calls"] += 1
                    spent[f"{name}_s"] += time.perf_counter() - started

        return wrapper

    def execute_kind(_manager, sql: str, *args, **kwargs) -> str:
        # The row ledger's statements (macros/row_totals.sql) are the rest of the counts' cost.
        return "ledger" if "row_totals" in sql else "execute"

    row_counts.parse_statements = timed(lambda *args: "parse", row_counts.parse_statements)
    install = row_counts.install
    timed_execute = timed(execute_kind, row_counts.execute_counting_rows)

    def install_timed() -> None:
        # Plugin.initialize calls the module's install(); it may run once per adapter environment.
        install()
        DuckDBConnectionManager.execute = timed_execute

    row_counts.install = install_timed
    home = home_from(base, landing, workdir / "plugin_time")
    os.environ["STRATA_HOME"] = str(home)
    arguments = ["build", "--vars", json.dumps(one_day_window(last_day)), "--profiles-dir", str(PROJECT_DIR)]
    arguments += ["--target-path", str(home / "target"), "--quiet"]
    cwd = os.getcwd()
    os.chdir(PROJECT_DIR)
    try:
        if not dbtRunner().invoke(arguments).success:
            sys.exit("the in-process one-day build failed")
        if not spent["execute_calls"]:
            sys.exit("the timers were not installed: the plugin did not initialize in this process")
    finally:
        os.chdir(cwd)
        row_counts.install = install
    results = json.loads((home / "target" / "run_results.json").read_text())["results"]
    spent["node_s"] = sum(result["execution_time"] for result in results)
    return spent


def merge_sql(table: str, keys: list[str], date_column: str, since: str, columns: list[str]) -> list[str]:
    on = " and ".join(f"s.{key} = d.{key}" for key in keys) + f" and d.{date_column} >= '{since}'"
    same = " and ".join(f's."{c}" is not distinct from d."{c}"' for c in columns)
    assign = ", ".join(f'"{c}" = s."{c}"' for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f's."{c}"' for c in columns)
    return [
        f"merge into {table} as d using source as s on ({on}) "
        f"when matched and not ({same}) then update set {assign} "
        f"when not matched then insert ({names}) values ({values})"
    ]


def split_sql(table: str, keys: list[str], date_column: str, since: str, columns: list[str]) -> list[str]:
    on = " and ".join(f"s.{key} = d.{key}" for key in keys) + f" and d.{date_column} >= '{since}'"
    same = " and ".join(f's."{c}" is not distinct from d."{c}"' for c in columns)
    assign = ", ".join(f'"{c}" = s."{c}"' for c in columns)
    names = ", ".join(f'"{c}"' for c in columns)
    return [
        f"insert into {table} ({names}) select {', '.join(f's.{chr(34)}{c}{chr(34)}' for c in columns)} "
        f"from source as s where not exists (select 1 from {table} as d where {on})",
        f"update {table} as d set {assign} from source as s where {on} and not ({same})",
    ]


def split_against_merge(args, base: Path, workdir: Path, last_day: dt.date):
    import duckdb

    path = workdir / "split.duckdb"
    shutil.copy(base / "warehouse.duckdb", path)
    since = (last_day - dt.timedelta(days=LOOKBACK_DAYS)).isoformat()
    results = {}
    with duckdb.connect(str(path)) as connection:
        for table, keys, date_column in MERGED_TABLES:
            columns = [row[0] for row in connection.sql(f"describe {table}").fetchall()]
            timings: dict[str, list[float]] = {"merge": [], "split": []}
            counts = {}
            for round_number in range(args.repeats):
                order = [("merge", merge_sql), ("split", split_sql)]
                for label, make in order if round_number % 2 == 0 else reversed(order):
                    connection.execute("begin")
                    # The run's input: the lookback window as stored, the last day of it new.
                    connection.execute(
                        f"create temp table source as select * from {table} where {date_column} >= '{since}'"
                    )
                    connection.execute(f"delete from {table} where {date_column} >= '{last_day}'")
                    started = time.perf_counter()
                    written = [
                        connection.execute(sql).fetchall()[0][0]
                        for sql in make(table, keys, date_column, since, columns)
                    ]
                    timings[label].append(time.perf_counter() - started)
                    counts[label] = written
                    connection.execute("rollback")
            [(rows,)] = connection.sql(f"select count(*) from {table}").fetchall()
            [(source_rows,)] = connection.sql(
                f"select count(*) from {table} where {date_column} >= '{since}'"
            ).fetchall()
            results[table] = {
                "rows": rows,
                "source_rows": source_rows,
                "merge": statistics.median(timings["merge"]),
                "split": statistics.median(timings["split"]),
                "counts": counts,
            }
    path.unlink()
    return results


def dagster_build(home: Path, profiles: Path, stock: bool) -> tuple[float, list[float], int]:
    """Materialize the whole build in process; (wall seconds, per-model metadata delays, models)."""
    from dagster import AssetExecutionContext, DagsterEventType, DagsterInstance, EventRecordsFilter, materialize

    from orchestration.dagster_dbt_api import DbtCliResource, dbt_assets
    from orchestration.dbt_assets import asset_events_with_row_counts
    from orchestration.manifest import prepared_manifest_path

    manifest = prepared_manifest_path()

    @dbt_assets(manifest=manifest)
    def whole_build(context: AssetExecutionContext, dbt: DbtCliResource):
        invocation = dbt.cli(["build"], context=context, target_path=home / "target", raise_on_error=False)
        if stock:
            yield from invocation.stream().fetch_row_counts()
        else:
            yield from asset_events_with_row_counts(context, invocation, None, every_batch_loaded=True)

    os.environ["STRATA_HOME"] = str(home)
    instance = DagsterInstance.ephemeral()
    resource = DbtCliResource(project_dir=str(PROJECT_DIR), profiles_dir=str(profiles), dbt_executable=str(BIN / "dbt"))
    started = time.perf_counter()
    with open(os.devnull, "w") as devnull:
        import contextlib

        with contextlib.redirect_stdout(devnull), contextlib.redirect_stderr(devnull):
            result = materialize([whole_build], resources={"dbt": resource}, instance=instance, raise_on_error=False)
    wall = time.perf_counter() - started
    finished = {}
    for node in json.loads((home / "target" / "run_results.json").read_text())["results"]:
        for timing in node["timing"]:
            if timing["name"] == "execute" and timing.get("completed_at"):
                stamp = dt.datetime.fromisoformat(timing["completed_at"].replace("Z", "+00:00"))
                finished[node["unique_id"].split(".")[-1]] = stamp.timestamp()
    delays = []
    for record in instance.get_event_records(EventRecordsFilter(DagsterEventType.ASSET_MATERIALIZATION)):
        materialization = record.asset_materialization
        name = materialization.asset_key.path[-1]
        if "dagster/row_count" in materialization.metadata and name in finished:
            delays.append(record.timestamp - finished[name])
    if not result.success:
        sys.exit(f"the {'stock' if stock else 'strata'} Dagster build failed")
    return wall, delays, len(delays)


def main() -> None:
    # The stock side is dagster-dbt as shipped, with dbt-core and its in-process adapter (what
    # fetch_row_counts() queries); orchestration.dagster_dbt_api would otherwise load it without.
    import dagster_dbt  # noqa: F401, TID251

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=int, default=20000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, help="keep the data here (default: a temporary directory)")
    args = parser.parse_args()
    print(f"load average at the start: {' '.join(f'{value:.2f}' for value in os.getloadavg())}", flush=True)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench_row_counts_"))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "bench.log"
    start = dt.date(2024, 1, 1)
    last_day = start + dt.timedelta(days=args.days - 1)
    landing = workdir / "landing_home"
    if not (landing / "landing").exists():
        env = {**os.environ, "STRATA_HOME": str(landing)}
        generate = [str(BIN / "strata"), "generate", "--start", start.isoformat(), "--days", str(args.days)]
        run([*generate, "--orders-per-day", str(args.orders_per_day), "--no-progress"], env, log)
    landing = landing / "landing"
    stock = profiles_without_plugins(workdir)
    base = home_from(None, landing, workdir / "base")
    env = {**os.environ, "STRATA_HOME": str(base)}
    full_seconds = run(dbt_command(PROJECT_DIR, base, "build"), env, log)
    written = sum(
        (result["adapter_response"].get("rows_affected") or 0)
        for result in json.loads((base / "target" / "run_results.json").read_text())["results"]
    )
    print(f"base: full build {full_seconds:.1f} s, {written:,} rows written", flush=True)

    medians, all_times = counts_on_off(args, base, landing, workdir, stock, last_day, log)
    print(f"one-day build: {json.dumps(all_times)}", flush=True)
    split = split_against_merge(args, base, workdir, last_day)
    print(f"split: {json.dumps(split, default=str)}", flush=True)
    stock_wall, stock_delays, stock_models = dagster_build(home_from(None, landing, workdir / "stock"), stock, True)
    ours_wall, ours_delays, ours_models = dagster_build(home_from(None, landing, workdir / "ours"), PROJECT_DIR, False)
    # Last: dbt in process configures Python's logging, which would then echo Dagster's run logs.
    plugin_time = plugin_thread_time(base, landing, workdir, last_day)
    print(f"plugin time: {json.dumps(plugin_time)}", flush=True)

    without = medians["without"]
    print("\n### Counts on and off (one-day incremental `dbt build`, median of", args.repeats, "rotated runs)")
    print("| variant | median s | runs (s) | against without |\n|---|---|---|---|")
    for label, median in medians.items():
        runs = ", ".join(f"{value:.2f}" for value in all_times[label])
        print(f"| {label} | {median:.2f} | {runs} | {100 * (median / without - 1):+.1f}% |")
    paired = [ours - stock for ours, stock in zip(all_times["with counts"], all_times["without"], strict=True)]
    print(f"median of the paired differences (with counts - without, same round): {statistics.median(paired):+.2f} s")
    print(
        f"plugin's parsing: {plugin_time['parse_calls']} parses in {plugin_time['parse_s']:.3f} s "
        f"({100 * plugin_time['parse_s'] / plugin_time['node_s']:.2f}% of "
        f"{plugin_time['node_s']:.1f} dbt node seconds); "
        f"row ledger: {plugin_time['ledger_calls']} statements in {plugin_time['ledger_s']:.3f} s; "
        f"other statements: {plugin_time['execute_calls']} in {plugin_time['execute_s']:.1f} s"
    )
    print(f"\n### Split against one MERGE (median of {args.repeats}; lookback window re-merged, last day new)")
    print("| table | rows | source rows | MERGE s | INSERT+UPDATE s | split / MERGE | rows written (merge / split) |")
    print("|---|---|---|---|---|---|---|")
    for table, figures in split.items():
        ratio = figures["split"] / figures["merge"]
        print(
            f"| {table} | {figures['rows']:,} | {figures['source_rows']:,} | {figures['merge']:.3f} | "
            f"{figures['split']:.3f} | {ratio:.2f}x | {figures['counts']['merge']} / {figures['counts']['split']} |"
        )
    print(f"\n### Whole build in Dagster ({written:,} rows written)")
    print("| row counts | wall s | models with a row count | delay median s | delay max s |\n|---|---|---|---|---|")
    for label, wall, delays, models in (
        ("dagster-dbt fetch_row_counts()", stock_wall, stock_delays, stock_models),
        ("Strata (statement counts)", ours_wall, ours_delays, ours_models),
    ):
        print(
            f"| {label} | {wall:.1f} | {models} | {statistics.median(delays) if delays else float('nan'):.2f} | "
            f"{max(delays) if delays else float('nan'):.2f} |"
        )
    print(f"| ratio Strata / fetch_row_counts | {ours_wall / stock_wall:.2f}x | | | |")
    print(f"\nload average at the end: {' '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
