"""Python's cyclic garbage collector tuned for Strata's batch processes.

`strata` (every subcommand; in a build, the orchestrating process) and `strata-dbt` (the dbt
process a build starts) each hold a large heap of long-lived objects: Dagster's definitions and
event records, dbt's manifest, macros and compiled nodes. With Python's default thresholds a
young-generation collection runs every 700 net allocations of container objects, and one in
every hundred or more of those rescans the whole heap. A one-day build measured about 870
collections in the orchestrator and 1,000 in dbt, 0.6-0.8 s of CPU in each process, taken from
the two cores DuckDB works on (BENCHMARKS.md, "Garbage collection in the batch processes").

Both processes live for one command, and reference counting frees nearly everything they drop:
only objects in reference cycles wait for the collector. With a young-generation threshold of a
million net allocations a daily build (about 550,000 in the orchestrator, 640,000 in dbt) never
collects, while a larger run, such as a full refresh with an event per partition and asset, still
does, so cyclic garbage stays bounded.

The long-lived processes (`dagster dev`, its daemon and code server) keep Python's defaults: only
the two console scripts call this.
"""

from __future__ import annotations

import gc

# (generation 0 allocations, generation 0 collections per generation 1, generation 1 per 2);
# Python's defaults are (700, 10, 10).
BATCH_THRESHOLDS = (1_000_000, 10, 10)


def tune_for_batch_process() -> None:
    gc.set_threshold(*BATCH_THRESHOLDS)
