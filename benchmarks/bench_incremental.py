"""Benchmark incremental builds: a one-day run against a full refresh, and against history length.

    .venv/bin/python benchmarks/bench_incremental.py [--orders-per-day N --repeats 3 --no-growth --workdir DIR --keep]

The issue's targets, at a scale where the 90-day history holds at least 10 million events (the
default --orders-per-day gives 10.13 million):

- a one-day incremental run takes at most 1/20 of a full refresh of the 90 days;
- the one-day run grows by at most 1.3x when the history grows from 30 to 180 days at the same
  daily volume.

`--no-growth` measures the first alone, on the 90-day history only: at twice the default volume
the three histories would not fit on the standard machine's disk, and the ratio to a full refresh
depends on the scale (a one-day run's fixed cost weighs less against a larger full refresh).

Setup. Every run loads the same day D (default 2024-06-29) onto a history of H days ending just
before it, H in (30, 90, 180). Each history gets its own data home, generated with
`strata generate --start D-H --days H+1` (the world starts with the history, so reference data
lands in its first batch); the generator draws a day's volume from the seed and the calendar day
only, so day D holds the same orders and events over every history, and the 180/30 ratio is not
blurred by the +-10% day-to-day volume. Each history is built as one window
(`strata build --start D-H --end D`), and the warehouse file and dbt's target/ (its saved parse
state) are copied aside.

Measured, in rounds (one round per repeat, side by side in one session):

- full refresh: `strata build --full-refresh --start D-90 --end D` on the 90-day home, from the
  copy of its warehouse and without dbt's saved parse (a full refresh follows runs of other
  windows, so it re-parses too);
- one-day run: `strata build --start D --end D+1` on each history, after restoring the copy, so
  every repeat is a genuine first run of day D (including dbt's full re-parse, since the vars
  changed since the last run, as in a daily schedule).

Each run is timed as the whole `strata build` command (wall clock), with dbt's own figures beside
it: `elapsed_time` from run_results.json (executing the nodes), the parse (dbt.log, from
"Running with dbt" to "Found N models"), and the per-node execution times by layer. Peak memory is
given two ways: the largest single process in the tree, exact (`ru_maxrss` from wait4(), which
covers the strata process and its waited-for descendants, dbt among them), and the whole tree's
resident set summed over processes, sampled from /proc every 0.2 s (may miss a short spike). CPU
seconds are user + system of the whole tree (wait4()). Medians are printed, then markdown tables.

Disk: the three landings hold 30 + 90 + 180 (+3) days, about 1.9 KB per order per day (12 GiB at
the default scale), and each warehouse, about as large as its landing, is kept twice (working
copy and snapshot): about 38 GiB in all at the default scale. The work directory is removed at
the end unless --keep.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[1]

EVENTS_TARGET = 10_000_000  # the scale: events in the 90-day history
ONE_DAY_VS_FULL_TARGET = 1 / 20
HISTORY_GROWTH_TARGET = 1.3
LANDING_BYTES_PER_ORDER_DAY = 1_900  # measured: 3.6 GiB for 91 days x 22,000 orders a day
WAREHOUSE_PER_LANDING = 1.1  # measured: a warehouse file against its landing's size
LAYERS = ("raw", "conformed", "reference", "modeled")
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


# ---------------------------------------------------------------------------------------------
# Running one command and measuring it


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat") as f:
                stat = f.read()
        except OSError:  # the process ended meanwhile
            continue
        ppid = int(stat[stat.rfind(")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_rss_kib(root: int) -> int:
    """Resident set of `root` and all its descendants, summed (KiB)."""
    children = _children_map()
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KIB
        except OSError:
            pass
    return total


class TreeSampler(threading.Thread):
    """Polls the process tree's summed RSS until stopped; keeps the peak."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kib = pid, interval, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, tree_rss_kib(self.pid))
            if self._stop_event.wait(self.interval):
                return

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class Measured:
    returncode: int
    wall: float
    cpu: float  # user + system of the whole tree
    max_rss_kib: int  # largest single process of the tree (exact)
    tree_rss_kib: int  # summed over the tree, sampled


def run_measured(command: list[str], env: dict[str, str], log: Path) -> Measured:
    """Run `command` with output appended to `log`; wall, CPU and peak memory of its process tree."""
    with open(log, "a") as out:
        out.write(f"\n$ {' '.join(command)}\n")
        out.flush()
        began = time.perf_counter()
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - began
        sampler.stop()
        process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(
        returncode=process.returncode,
        wall=wall,
        cpu=usage.ru_utime + usage.ru_stime,
        max_rss_kib=usage.ru_maxrss,
        tree_rss_kib=sampler.peak_kib,
    )


# ---------------------------------------------------------------------------------------------
# What dbt says about a run


@dataclass
class DbtFigures:
    elapsed: float | None = None  # run_results.json elapsed_time: executing the nodes
    parse: float | None = None  # dbt.log: "Running with dbt" to "Found N models"
    full_parse: bool | None = None  # dbt re-parsed the whole project
    # dbt.log resource report: the dbt command, after its imports. The report is a debug line; with
    # dbt.log at info (the project's default) it is "Running with dbt=" to dbt.log's last line.
    dbt_wall: float | None = None
    by_group: dict[str, float] = field(default_factory=dict)  # node seconds by layer / tests / hooks
    nodes: list[tuple[float, str]] = field(default_factory=list)  # (seconds, node), slowest first


def _log_message(line: str) -> tuple[str, float | None]:
    """(message, seconds since midnight UTC) of one JSON line of dbt.log; ("", None) otherwise."""
    try:
        info = json.loads(line)["info"]
        stamp = dt.datetime.fromisoformat(info["ts"].replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return "", None
    return info.get("msg") or "", stamp.hour * 3600 + stamp.minute * 60 + stamp.second + stamp.microsecond / 1e6


def _node_group(node: dict) -> str:
    kind = node.get("resource_type")
    if kind == "seed":
        return "reference"
    if kind in ("model", "snapshot"):
        fqn = node.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "other"
    if kind in ("test", "unit_test"):
        return "tests"
    if kind == "operation":
        return "hooks"
    return "other"


def dbt_figures(home: Path) -> DbtFigures:
    figures = DbtFigures()
    target = home / "target"
    try:
        results = json.loads((target / "run_results.json").read_text())
        manifest = json.loads((target / "manifest.json").read_text())
    except (OSError, ValueError):
        results, manifest = None, None
    if results:
        figures.elapsed = results.get("elapsed_time")
        nodes = {**manifest.get("nodes", {}), **manifest.get("unit_tests", {})} if manifest else {}
        for result in results.get("results", []):
            unique_id = result["unique_id"]
            node = nodes.get(unique_id, {"resource_type": unique_id.split(".")[0]})
            group = _node_group(node)
            seconds = result.get("execution_time") or 0.0
            figures.by_group[group] = figures.by_group.get(group, 0.0) + seconds
            figures.nodes.append((seconds, unique_id.split(".", 1)[1] if "." in unique_id else unique_id))
        figures.nodes.sort(reverse=True)
    started = found = last = None
    # dbt runs under Dagster (strata build): its log is target/dbt.log in JSON lines.
    for path in sorted((home / "target").glob("dbt.log*"), key=lambda p: p.stat().st_mtime):
        for line in path.read_text(errors="replace").splitlines():
            message, seconds = _log_message(line)
            last = seconds if seconds is not None else last
            if message.startswith("Running with dbt=") and started is None:
                started = seconds
            elif message.startswith("Found ") and found is None:
                found = seconds
            elif "Starting full parse" in message or "Unable to do partial parsing" in message:
                figures.full_parse = True
            elif message.startswith("Resource report: "):
                report = json.loads(message.split("Resource report: ", 1)[1])
                figures.dbt_wall = report.get("command_wall_clock_time")
    if figures.dbt_wall is None and started is not None and last is not None:
        figures.dbt_wall = (last - started) % 86400
    if started is not None and found is not None:
        figures.parse = (found - started) % 86400
        if figures.full_parse is None:
            figures.full_parse = False
    return figures


# ---------------------------------------------------------------------------------------------
# Data homes


def strata_command() -> list[str]:
    script = Path(sys.executable).with_name("strata")
    return [str(script)] if script.exists() else [sys.executable, "-m", "orchestration.cli"]


@dataclass
class Home:
    history: int  # days of history before the measured day
    path: Path
    first_day: dt.date
    day: dt.date  # the day the one-day run loads

    @property
    def warehouse(self) -> Path:
        return self.path / "warehouse.duckdb"

    @property
    def snapshot(self) -> Path:
        return self.path.with_name(self.path.name + "-snapshot")

    def env(self) -> dict[str, str]:
        # No dbt.log rollover in the middle of a run: each run's log is read whole afterwards.
        return {**os.environ, "STRATA_HOME": str(self.path), "DBT_LOG_FILE_MAX_BYTES": "0"}

    def manifest_rows(self, first: dt.date, end: dt.date) -> dict[str, int]:
        """Rows per entity in the landing batches of [first, end), from their manifests."""
        rows: dict[str, int] = {}
        for manifest_path in (self.path / "landing").glob("*/*/_manifest.json"):
            manifest = json.loads(manifest_path.read_text())
            if first.isoformat() <= manifest["batch_date"] < end.isoformat():
                entity = manifest["entity"]
                rows[entity] = rows.get(entity, 0) + sum(f["rows"] for f in manifest["files"])
        return rows

    def save_snapshot(self) -> None:
        shutil.rmtree(self.snapshot, ignore_errors=True)
        self.snapshot.mkdir()
        for path in self.path.glob("warehouse.duckdb*"):
            shutil.copyfile(path, self.snapshot / path.name)
        shutil.copytree(self.path / "target", self.snapshot / "target")

    def restore_snapshot(self) -> None:
        for path in self.path.glob("warehouse.duckdb*"):
            path.unlink()
        for path in self.snapshot.glob("warehouse.duckdb*"):
            shutil.copyfile(path, self.path / path.name)
        shutil.rmtree(self.path / "target")
        shutil.copytree(self.snapshot / "target", self.path / "target")


def disk_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


@dataclass
class Run:
    label: str
    measured: Measured
    dbt: DbtFigures


class BuildFailed(RuntimeError):
    pass


def build(home: Home, label: str, args: list[str], log: Path) -> Run:
    for old in (home.path / "target").glob("dbt.log*"):
        old.unlink()
    os.sync()  # a restored warehouse copy is flushed before the clock starts
    measured = run_measured([*strata_command(), "build", *args], home.env(), log)
    if measured.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise BuildFailed(f"{label}: `strata build {' '.join(args)}` exited with {measured.returncode}\n{tail}")
    run = Run(label, measured, dbt_figures(home.path))
    parse = f"{run.dbt.parse:.1f}" if run.dbt.parse is not None else "?"
    elapsed = f"{run.dbt.elapsed:.1f}" if run.dbt.elapsed is not None else "?"
    print(
        f"  {label}: {measured.wall:.1f} s wall (dbt: parse {parse} s"
        f"{', full' if run.dbt.full_parse else ''}, nodes {elapsed} s), {measured.cpu:.1f} s CPU,"
        f" peak RSS {measured.max_rss_kib / 1024:.0f} MiB largest process,"
        f" {measured.tree_rss_kib / 1024:.0f} MiB tree",
        flush=True,
    )
    return run


def check_loaded(home: Home, expected: dict[str, int]) -> list[str]:
    """Problems with day D in raw after a one-day run: each entity's rows as its manifest says."""
    problems = []
    with duckdb.connect(str(home.warehouse), read_only=True) as connection:
        for entity, rows in sorted(expected.items()):
            try:
                (loaded,) = connection.execute(
                    f"select count(*) from raw.raw_{entity} where cast(_batch_date as date) = ?", [home.day]
                ).fetchone()
            except duckdb.Error as error:
                problems.append(f"raw_{entity}: {error}")
                continue
            if loaded != rows:
                problems.append(f"raw_{entity}: {loaded:,} rows of {home.day}, manifest says {rows:,}")
    return problems


# ---------------------------------------------------------------------------------------------
# Report


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


@dataclass
class Summary:
    wall: float
    elapsed: float | None
    parse: float | None
    dbt_wall: float | None
    cpu: float
    max_rss_mib: float
    tree_rss_mib: float
    by_group: dict[str, float]
    runs: int

    @classmethod
    def of(cls, runs: list[Run]) -> Summary:
        groups = sorted({g for r in runs for g in r.dbt.by_group})
        return cls(
            wall=statistics.median(r.measured.wall for r in runs),
            elapsed=_median([r.dbt.elapsed for r in runs]),
            parse=_median([r.dbt.parse for r in runs]),
            dbt_wall=_median([r.dbt.dbt_wall for r in runs]),
            cpu=statistics.median(r.measured.cpu for r in runs),
            max_rss_mib=max(r.measured.max_rss_kib for r in runs) / 1024,
            tree_rss_mib=max(r.measured.tree_rss_kib for r in runs) / 1024,
            by_group={g: statistics.median(r.dbt.by_group.get(g, 0.0) for r in runs) for g in groups},
            runs=len(runs),
        )

    @property
    def model_seconds(self) -> float:
        """Node seconds of the models and seeds, summed over threads (tests and hooks left out)."""
        return sum(self.by_group.get(layer, 0.0) for layer in LAYERS)

    @property
    def dbt_other(self) -> float | None:
        """The dbt command's time outside parse and nodes: adapter, relation cache, artifacts."""
        if self.dbt_wall is None or self.elapsed is None or self.parse is None:
            return None
        return self.dbt_wall - self.elapsed - self.parse

    @property
    def outside_dbt(self) -> float | None:
        """Wall clock outside the dbt command: Python starts and imports (strata's, dbt's), strata's
        landing check and its summary."""
        return None if self.dbt_wall is None else self.wall - self.dbt_wall


def _s(value: float | None, digits: int = 1) -> str:
    return "?" if value is None else f"{value:,.{digits}f} s"


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _verdict(ratio: float | None, limit: float) -> str:
    if ratio is None:
        return "?"
    return "met" if ratio <= limit else "**not met**"


def _rows(n: int) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n:,}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders-per-day", type=int, default=22_000, help="default: >= 10M events in 90 days")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--short-days", type=int, default=30, help="shorter history of the growth comparison")
    parser.add_argument("--full-days", type=int, default=90, help="history of the full-refresh comparison")
    parser.add_argument("--long-days", type=int, default=180, help="longer history of the growth comparison")
    parser.add_argument(
        "--day", type=dt.date.fromisoformat, help="the day the one-day run loads (default: 2024-01-01 + --long-days)"
    )
    parser.add_argument(
        "--no-growth",
        action="store_true",
        help="only the full-refresh comparison, on the --full-days history alone (a larger scale fits on disk)",
    )
    parser.add_argument("--workers", type=int, help="generator processes (default: automatic)")
    parser.add_argument("--workdir", type=Path, help="parent of the work directory (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (data homes, logs)")
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.orders_per_day < 1:
        parser.error("--repeats and --orders-per-day must be at least 1")
    if min(args.short_days, args.full_days) < 1 or not (args.no_growth or args.short_days < args.long_days):
        parser.error("histories must be at least 1 day, and --short-days shorter than --long-days")
    histories = [args.full_days] if args.no_growth else sorted({args.short_days, args.full_days, args.long_days})
    day = args.day or dt.date(2024, 1, 1) + dt.timedelta(days=args.long_days)
    next_day = day + dt.timedelta(days=1)

    parent = args.workdir or Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    landing_estimate = LANDING_BYTES_PER_ORDER_DAY * args.orders_per_day * sum(h + 1 for h in histories)
    # A warehouse takes about as much as its landing, and each is kept twice (working copy, snapshot).
    disk_estimate = (1 + 2 * WAREHOUSE_PER_LANDING) * landing_estimate
    free = shutil.disk_usage(parent).free
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"orders/day={args.orders_per_day:,} seed={args.seed} day={day} histories={histories} days"
        f" repeats={args.repeats} threads={os.environ.get('STRATA_THREADS', '2 (default)')}"
    )
    print(
        f"disk: about {disk_estimate / 2**30:.1f} GiB needed ({landing_estimate / 2**30:.1f} GiB of landings);"
        f" {free / 2**30:.1f} GiB free under {parent}"
    )
    if free < disk_estimate:
        print("warning: probably not enough disk space (choose another --workdir)")
    workdir = Path(tempfile.mkdtemp(prefix="strata-bench-incremental-", dir=parent))
    log = workdir / "commands.log"
    print(f"work directory: {workdir} (commands' output in {log.name})", flush=True)
    began = time.perf_counter()
    try:
        return _benchmark(args, histories, day, next_day, workdir, log)
    except BuildFailed as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print(f"total benchmark time: {(time.perf_counter() - began) / 60:.1f} min")
        print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _benchmark(args, histories: list[int], day: dt.date, next_day: dt.date, workdir: Path, log: Path) -> int:
    homes = {h: Home(h, workdir / f"history-{h}d", day - dt.timedelta(days=h), day) for h in histories}
    full = homes[args.full_days]

    print("generating landings", flush=True)
    for home in homes.values():
        command = [
            *strata_command(), "generate", "--start", home.first_day.isoformat(), "--days", str(home.history + 1),
            "--orders-per-day", str(args.orders_per_day), "--seed", str(args.seed), "--no-progress",
        ]  # fmt: skip
        if args.workers:
            command += ["--workers", str(args.workers)]
        measured = run_measured(command, home.env(), log)
        if measured.returncode != 0:
            raise BuildFailed(f"strata generate exited with {measured.returncode}; see {log}")
        rows = sum(home.manifest_rows(home.first_day, next_day).values())
        print(
            f"  {home.history} days + day {day}: {rows:,} rows in {measured.wall:.1f} s"
            f" ({rows / measured.wall:,.0f} rows/s), {disk_bytes(home.path / 'landing') / 2**30:.2f} GiB",
            flush=True,
        )
    history_rows = {h: homes[h].manifest_rows(homes[h].first_day, day) for h in histories}
    day_rows = {h: homes[h].manifest_rows(day, next_day) for h in histories}
    for h in histories:
        print(
            f"  history {h} days: {sum(history_rows[h].values()):,} rows, {history_rows[h].get('events', 0):,} events;"
            f" day {day}: {sum(day_rows[h].values()):,} rows, {day_rows[h].get('events', 0):,} events"
        )

    print("building each history as one window (from an empty warehouse)", flush=True)
    initial: dict[int, Run] = {}
    for h, home in homes.items():
        window = ["--start", home.first_day.isoformat(), "--end", day.isoformat()]
        initial[h] = build(home, f"history {h} days, initial build", window, log)
        home.save_snapshot()
        print(f"    warehouse {disk_bytes(home.warehouse) / 2**30:.2f} GiB", flush=True)

    full_window = ["--full-refresh", "--start", full.first_day.isoformat(), "--end", day.isoformat()]
    one_day_window = ["--start", day.isoformat(), "--end", next_day.isoformat()]
    refreshes: list[Run] = []
    one_day: dict[int, list[Run]] = {h: [] for h in histories}
    for repeat in range(args.repeats):
        print(f"round {repeat + 1} of {args.repeats}", flush=True)
        # From the same 90-day warehouse every time, and with a full parse like the one-day runs
        # (a full refresh follows runs of other windows, so dbt cannot reuse its saved parse).
        full.restore_snapshot()
        (full.path / "target" / "partial_parse.msgpack").unlink(missing_ok=True)
        refreshes.append(build(full, f"full refresh {args.full_days} days", full_window, log))
        order = histories[repeat % len(histories) :] + histories[: repeat % len(histories)]
        for h in order:
            homes[h].restore_snapshot()
            one_day[h].append(build(homes[h], f"one day on {h} days", one_day_window, log))

    problems = [f"history {h}: {p}" for h in histories for p in check_loaded(homes[h], day_rows[h])]
    for problem in problems:
        print(f"warning: {problem}")
    report(args, histories, day, history_rows, day_rows, initial, refreshes, one_day)
    return 1 if problems else 0


def report(args, histories, day, history_rows, day_rows, initial, refreshes, one_day) -> None:
    refresh = Summary.of(refreshes)
    days = {h: Summary.of(one_day[h]) for h in histories}
    mid = days[args.full_days]
    # Ratios by measure: wall clock (the target), dbt's node execution, CPU of the process tree (less
    # sensitive to a busy machine), and the models' own node seconds (tests left out).
    measures = {
        "wall clock": lambda s: s.wall,
        "dbt nodes (elapsed_time)": lambda s: s.elapsed,
        "CPU s": lambda s: s.cpu,
        "model node s (no tests)": lambda s: s.model_seconds,
    }
    vs_full = {name: _ratio(get(mid), get(refresh)) for name, get in measures.items()}
    growth = (
        None
        if args.no_growth
        else {name: _ratio(get(days[args.long_days]), get(days[args.short_days])) for name, get in measures.items()}
    )
    events_full = history_rows[args.full_days].get("events", 0)
    rows = [(f"full refresh of {args.full_days} days", args.full_days, refresh)]
    rows += [(f"one day ({day})", h, days[h]) for h in histories]

    print()
    print(f"medians of {args.repeats} run(s) each")
    print(
        f"one day on {args.full_days} days / full refresh of {args.full_days} days:"
        f" {_ratios(vs_full, 3)}; target <= {ONE_DAY_VS_FULL_TARGET} (1/20)"
    )
    if growth:
        print(
            f"one day on {args.long_days} days / on {args.short_days} days:"
            f" {_ratios(growth, 2)}; target <= {HISTORY_GROWTH_TARGET}x"
        )
    if events_full < EVENTS_TARGET:
        print(
            f"note: the {args.full_days}-day history holds {events_full:,} events, fewer than {EVENTS_TARGET:,}:"
            " not the issue's scale (raise --orders-per-day)"
        )

    print()
    day_total = sum(day_rows[args.full_days].values())
    full_total = sum(history_rows[args.full_days].values())
    print(
        f"{args.orders_per_day:,} orders a day (seed {args.seed}): day {day} holds {day_total:,} rows"
        f" ({day_rows[args.full_days].get('events', 0):,} events), the {args.full_days}-day history"
        f" {full_total:,} rows ({events_full:,} events)."
    )
    print()
    print(
        "| run | history | median wall | dbt nodes (elapsed_time) | dbt parse | dbt other | outside dbt | CPU s"
        " | peak RSS, largest process | peak RSS, tree (sampled) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for label, h, s in rows:
        print(
            f"| {label} | {h} days ({_rows(sum(history_rows[h].values()))} rows) | {_s(s.wall)} ({s.runs} runs)"
            f" | {_s(s.elapsed)} | {_s(s.parse)} | {_s(s.dbt_other)} | {_s(s.outside_dbt)} | {s.cpu:.1f}"
            f" | {s.max_rss_mib:,.0f} MiB"
            f" | {s.tree_rss_mib:,.0f} MiB |"
        )
    print()
    print(
        "dbt other: the dbt command's time outside parse and nodes (adapter, relation cache, artifacts);"
        " outside dbt: Python starts and imports (strata's and dbt's), strata's landing check (SHA-256 of"
        " the window's files) and its summary."
    )
    print()
    print(f"| ratio | {' | '.join(measures)} | target (wall clock) |")
    print(f"|---|{'---|' * len(measures)}---|")
    cells = " | ".join(f"{_fmt(r, 3)} ({_inverse(r)})" for r in vs_full.values())
    print(
        f"| one day on {args.full_days} days / full refresh of {args.full_days} days | {cells}"
        f" | <= 0.05 (1/20): {_verdict(vs_full['wall clock'], ONE_DAY_VS_FULL_TARGET)} |"
    )
    if growth:
        cells = " | ".join(f"{_fmt(r, 2)}x" for r in growth.values())
        print(
            f"| one day on {args.long_days} days / on {args.short_days} days | {cells}"
            f" | <= {HISTORY_GROWTH_TARGET}x: {_verdict(growth['wall clock'], HISTORY_GROWTH_TARGET)} |"
        )
    print()
    print("Where the time goes (medians, seconds; node seconds are summed over dbt's threads):")
    print()
    groups = [g for g in (*LAYERS, "tests", "hooks", "other") if any(g in s.by_group for _, _, s in rows)]
    print(f"| run | history | wall | dbt parse | dbt other | outside dbt | {' | '.join(groups)} |")
    print(f"|---|---|---|---|---|---|{'---|' * len(groups)}")
    for label, h, s in rows:
        fixed = f"{_fmt(s.parse, 1)} | {_fmt(s.dbt_other, 1)} | {_fmt(s.outside_dbt, 1)}"
        cells = " | ".join(f"{s.by_group.get(g, 0.0):.1f}" for g in groups)
        print(f"| {label} | {h} days | {s.wall:.1f} | {fixed} | {cells} |")
    print()
    builds = ", ".join(f"{h} days {initial[h].measured.wall:.1f} s" for h in histories)
    print(f"initial builds (one window, empty warehouse): {builds}")
    for h in (args.full_days,) if args.no_growth else (args.short_days, args.long_days):
        print(f"slowest nodes, last one-day run on {h} days: {_slowest(one_day[h][-1])}")
    print(f"slowest nodes, last full refresh: {_slowest(refreshes[-1])}")


def _slowest(run: Run, count: int = 8) -> str:
    return ", ".join(f"{name} {seconds:.2f}" for seconds, name in run.dbt.nodes[:count])


def _ratios(ratios: dict[str, float | None], digits: int) -> str:
    return ", ".join(f"{name} {_fmt(r, digits)}" for name, r in ratios.items())


def _inverse(ratio: float | None) -> str:
    return "?" if not ratio else f"1/{1 / ratio:.1f}"


def _fmt(value: float | None, digits: int) -> str:
    return "?" if value is None else f"{value:.{digits}f}"


if __name__ == "__main__":
    raise SystemExit(main())
