"""Benchmark the landing data generator: rows written per second.

    .venv/bin/python benchmarks/bench_generator.py [--days 30 --orders-per-day 20000 --repeats 3 --workers N]

Generates into a fresh temporary directory per repeat (default noise on), and prints the median
wall time, the rows written, rows/second, the CPU seconds of this process plus its worker
processes (and rows per CPU second), and the peak RSS of this process and of the largest worker.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from orchestration.generator import GenerateOptions, NoiseOptions, generate, plan_chunks  # noqa: E402


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its waited-for children (the worker processes)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--orders-per-day", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: automatic)")
    parser.add_argument("--no-noise", action="store_true", help="generate with NoiseOptions.none()")
    parser.add_argument("--start", type=dt.date.fromisoformat, default=dt.date(2024, 1, 1))
    args = parser.parse_args(argv)

    options = GenerateOptions(
        start=args.start,
        days=args.days,
        seed=args.seed,
        orders_per_day=args.orders_per_day,
        noise=NoiseOptions.none() if args.no_noise else NoiseOptions(),
        workers=args.workers,
    )
    chunks = plan_chunks(options)
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"worker chunks: {', '.join(f'{a}..{b}' for a, b in chunks) if len(chunks) > 1 else 'none (in-process)'}")
    seconds, cpu, rows = [], [], 0
    for repeat in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="strata-bench-") as tmp:
            began, began_cpu = time.perf_counter(), _cpu_seconds()
            summary = generate(Path(tmp) / "landing", options)
            elapsed = time.perf_counter() - began
            cpu.append(_cpu_seconds() - began_cpu)
        seconds.append(elapsed)
        rows = summary.rows
        print(
            f"run {repeat + 1}: {elapsed:.2f} s, {summary.rows:,} rows, {summary.batches} batches,"
            f" {summary.rows / elapsed:,.0f} rows/s, {cpu[-1]:.2f} s CPU",
            flush=True,
        )
    median = statistics.median(seconds)
    median_cpu = statistics.median(cpu)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    child_peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the largest worker
    print(f"days={args.days} orders_per_day={args.orders_per_day} noise={'off' if args.no_noise else 'default'}")
    print(f"median seconds: {median:.2f}")
    print(f"rows: {rows:,}")
    print(f"rows/second: {rows / median:,.0f}")
    print(
        f"median CPU seconds (this process + workers): {median_cpu:.2f}, {rows / median_cpu:,.0f} rows per CPU second"
        f" ({median_cpu / median:.2f} cores busy on average)"
    )
    print(f"peak RSS: {peak_kib / 1024:.0f} MiB this process, {child_peak_kib / 1024:.0f} MiB largest worker")
    print(f"load average at end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if rows < 5_000_000:
        print("note: fewer than 5 million rows; raise --days or --orders-per-day for a representative run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
