"""`strata report`: a static HTML page and PNG charts of the build history.

Written to $STRATA_HOME/report/ (index.html plus sibling PNGs, nothing fetched from elsewhere):
the latest invocation's per-thread timeline with its critical path, the slowest models, each
model's runtime over its last runs, rows inserted and updated per model and partition, and the
regression flags. Counts the artifacts did not carry show as "unknown".
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

# No display on servers and in CI; Agg writes PNGs without one.
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from orchestration.observability.artifacts import InvocationRecord, NodeResult  # noqa: E402
from orchestration.observability.flags import Flag, latest_flags  # noqa: E402
from orchestration.observability.store import load_history  # noqa: E402

MODEL_TYPES = ("model", "seed", "snapshot")
SLOWEST = 15
HISTORY_RUNS = 20
# Lines beyond this many models make the runtime and rows charts unreadable; the tables list all.
CHART_MODELS = 10
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Timeline:
    # Longest dependency chain through the invocation's nodes, weighted by execution time.
    critical_path: tuple[str, ...]
    critical_path_seconds: float
    peak_concurrency: int
    wall_clock_seconds: float
    sum_of_node_seconds: float


def _timed(nodes: Sequence[NodeResult]) -> list[NodeResult]:
    return [node for node in nodes if node.execute_started_at and node.execute_completed_at]


def critical_path(nodes: Sequence[NodeResult]) -> tuple[tuple[str, ...], float]:
    """The chain of dependencies (manifest depends_on) with the largest sum of execution times."""
    by_id = {node.unique_id: node for node in nodes}
    best: dict[str, tuple[float, tuple[str, ...]]] = {}

    def longest(unique_id: str, visiting: frozenset[str]) -> tuple[float, tuple[str, ...]]:
        if unique_id in best:
            return best[unique_id]
        node = by_id[unique_id]
        parents = [
            longest(parent, visiting | {unique_id})
            for parent in node.depends_on
            if parent in by_id and parent not in visiting
        ]
        seconds, chain = max(parents, default=(0.0, ()))
        best[unique_id] = (seconds + node.execution_time, (*chain, unique_id))
        return best[unique_id]

    paths = [longest(unique_id, frozenset()) for unique_id in sorted(by_id)]
    seconds, chain = max(paths, default=(0.0, ()))
    return chain, seconds


def peak_concurrency(nodes: Sequence[NodeResult]) -> int:
    # A node ending at the instant another starts does not overlap it: ends sort before starts.
    events = sorted(
        [(node.execute_started_at, 1) for node in _timed(nodes)]
        + [(node.execute_completed_at, -1) for node in _timed(nodes)],
        key=lambda event: (event[0], event[1]),
    )
    running = peak = 0
    for _, change in events:
        running += change
        peak = max(peak, running)
    return peak


def timeline(invocation: InvocationRecord) -> Timeline:
    chain, seconds = critical_path(invocation.nodes)
    return Timeline(
        critical_path=chain,
        critical_path_seconds=seconds,
        peak_concurrency=peak_concurrency(invocation.nodes),
        wall_clock_seconds=invocation.elapsed_time,
        sum_of_node_seconds=sum(node.execution_time for node in invocation.nodes),
    )


def _short(unique_id: str) -> str:
    return unique_id.rsplit(".", 1)[-1]


def _save(figure, path: Path) -> None:
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _unknown_chart(path: Path, title: str) -> None:
    figure, axis = plt.subplots(figsize=(8, 2))
    axis.set_axis_off()
    axis.set_title(title)
    axis.text(0.5, 0.4, "unknown: no run recorded these counts", ha="center", va="center")
    _save(figure, path)


def draw_gantt(invocation: InvocationRecord, path: Path, chain: Sequence[str]) -> None:
    nodes = _timed(invocation.nodes)
    threads = sorted({node.thread_id for node in nodes})
    origin = min((node.execute_started_at for node in nodes), default=invocation.started_at)
    on_path = set(chain)
    figure, axis = plt.subplots(figsize=(12, 1 + 0.5 * max(len(threads), 1)))
    for row, thread in enumerate(threads):
        for node in (item for item in nodes if item.thread_id == thread):
            start = (node.execute_started_at - origin).total_seconds()
            width = max((node.execute_completed_at - node.execute_started_at).total_seconds(), 0.01)
            color = (
                "tab:red" if node.unique_id in on_path else "tab:blue" if node.resource_type in MODEL_TYPES else "0.7"
            )
            axis.broken_barh([(start, width)], (row - 0.4, 0.8), facecolors=color, edgecolor="white", linewidth=0.3)
    axis.set_yticks(range(len(threads)), threads)
    axis.set_xlabel("seconds since the first node started")
    axis.set_title(f"invocation {invocation.invocation_id[:8]}: models (blue), tests (grey), critical path (red)")
    _save(figure, path)


def draw_slowest(invocation: InvocationRecord, path: Path) -> list[NodeResult]:
    slowest = sorted(
        (node for node in invocation.nodes if node.resource_type in MODEL_TYPES),
        key=lambda node: node.execution_time,
        reverse=True,
    )[:SLOWEST]
    figure, axis = plt.subplots(figsize=(8, 1 + 0.3 * max(len(slowest), 1)))
    axis.barh([node.name for node in reversed(slowest)], [node.execution_time for node in reversed(slowest)])
    axis.set_xlabel("execution time (s)")
    axis.set_title("slowest models of the latest invocation")
    _save(figure, path)
    return slowest


def draw_runtime_history(history: Sequence[InvocationRecord], models: Sequence[str], path: Path) -> None:
    figure, axis = plt.subplots(figsize=(10, 4))
    for unique_id in models:
        points = [
            (invocation.started_at, node.execution_time)
            for invocation in history
            for node in invocation.nodes
            if node.unique_id == unique_id
        ][-HISTORY_RUNS:]
        axis.plot(
            [moment for moment, _ in points], [seconds for _, seconds in points], marker="o", label=_short(unique_id)
        )
    axis.set_ylabel("execution time (s)")
    axis.set_title(f"runtime over the last {HISTORY_RUNS} runs (slowest models)")
    axis.legend(fontsize="x-small", loc="center left", bbox_to_anchor=(1.0, 0.5))
    figure.autofmt_xdate()
    _save(figure, path)


def draw_rows_history(history: Sequence[InvocationRecord], models: Sequence[str], path: Path) -> bool:
    """Rows inserted and updated per run; False (and an "unknown" chart) when no run had counts."""
    series = {
        (unique_id, kind): [
            (invocation.started_at, getattr(node, kind))
            for invocation in history
            for node in invocation.nodes
            if node.unique_id == unique_id and getattr(node, kind) is not None
        ]
        for unique_id in models
        for kind in ("rows_inserted", "rows_updated")
    }
    if not any(series.values()):
        _unknown_chart(path, "rows inserted and updated")
        return False
    figure, axes = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    for axis, kind in zip(axes, ("rows_inserted", "rows_updated"), strict=True):
        for unique_id in models:
            points = series[(unique_id, kind)]
            if points:
                axis.plot(
                    [moment for moment, _ in points], [rows for _, rows in points], marker="o", label=_short(unique_id)
                )
        axis.set_ylabel(kind.replace("_", " "))
    axes[0].legend(fontsize="x-small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    axes[0].set_title("rows inserted and updated per run")
    figure.autofmt_xdate()
    _save(figure, path)
    return True


def _count(value: int | None) -> str:
    return UNKNOWN if value is None else f"{value:,}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{html.escape(str(item))}</th>" for item in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(item))}</td>" for item in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.6em; text-align: left; }
th { background: #f0f0f0; }
img { max-width: 100%; }
"""


def write_report(store_path: Path, out_dir: Path, now: dt.datetime | None = None) -> Path:
    """Write index.html and its PNGs into out_dir; StoreError when the store is missing or empty."""
    history = load_history(store_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    latest = history[-1]
    stats = timeline(latest)
    draw_gantt(latest, out_dir / "timeline.png", stats.critical_path)
    slowest = draw_slowest(latest, out_dir / "slowest.png")
    chart_models = [node.unique_id for node in slowest[:CHART_MODELS]]
    draw_runtime_history(history, chart_models, out_dir / "runtime_history.png")
    draw_rows_history(history, chart_models, out_dir / "rows_history.png")
    flags = latest_flags(history)
    names = {node.unique_id: node.name for node in latest.nodes}

    rows_table = [
        (node.name, node.layer or "", invocation.partition, invocation.started_at.strftime("%Y-%m-%d %H:%M"))
        + (_count(node.rows_inserted), _count(node.rows_updated), _count(node.rows_deleted), _count(node.rows_total))
        for invocation in reversed(history[-HISTORY_RUNS:])
        for node in invocation.nodes
        if node.resource_type in MODEL_TYPES
    ]
    generated = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    invocation_table = _table(
        ("invocation", "command", "started", "partition", "full refresh", "dbt"),
        [
            (
                latest.invocation_id,
                latest.command or "",
                latest.started_at.isoformat(timespec="seconds"),
                latest.partition,
                latest.full_refresh,
                latest.dbt_version or "",
            )
        ],
    )
    timeline_table = _table(
        ("wall clock (s)", "sum of node times (s)", "peak concurrency", "critical path (s)"),
        [
            (
                f"{stats.wall_clock_seconds:.1f}",
                f"{stats.sum_of_node_seconds:.1f}",
                stats.peak_concurrency,
                f"{stats.critical_path_seconds:.1f}",
            )
        ],
    )
    path_names = " → ".join(names.get(item, item) for item in stats.critical_path)
    slowest_table = _table(
        ("model", "layer", "materialization", "seconds"),
        [(node.name, node.layer or "", node.materialization or "", f"{node.execution_time:.2f}") for node in slowest],
    )
    rows = _table(("model", "layer", "partition", "run", "inserted", "updated", "deleted", "total"), rows_table)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Strata build report</title><style>{STYLE}</style></head>
<body>
<h1>Strata build report</h1>
<p>Generated {generated} from {len(history)} recorded dbt invocations ({html.escape(str(store_path))}).</p>
<h2>Latest invocation</h2>
{invocation_table}
{timeline_table}
<p>Critical path: {html.escape(path_names)}</p>
<img src="timeline.png" alt="per-thread timeline of the latest invocation">
<h2>Slowest models</h2>
<img src="slowest.png" alt="slowest models">
{slowest_table}
<h2>Runtime over the last runs</h2>
<img src="runtime_history.png" alt="runtime per model over its last runs">
<h2>Regression flags</h2>
{_flags_html(flags)}
<h2>Rows per model and partition (last {HISTORY_RUNS} invocations)</h2>
<img src="rows_history.png" alt="rows inserted and updated per model over time">
{rows}
</body></html>
"""
    index = out_dir / "index.html"
    index.write_text(page)
    return index


def _flags_html(flags: Sequence[Flag]) -> str:
    if not flags:
        return "<p>No regression flags on the latest run of any model.</p>"
    return _table(
        ("model", "rule", "invocation", "detail"),
        [(flag.name, flag.rule, flag.invocation_id, flag.message) for flag in flags],
    )
