"""The collector thresholds of Strata's batch processes (orchestration/garbage_collection.py).

The console scripts are run for real; a sitecustomize on PYTHONPATH (which hides any other
sitecustomize for that process) reports the thresholds they run with when they exit.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from orchestration.garbage_collection import BATCH_THRESHOLDS
from pytests.conftest import BIN

REPORT_AT_EXIT = textwrap.dedent(
    """
    import atexit, gc, os

    def report():
        with open(os.environ["THRESHOLD_REPORT"], "w") as report_file:
            report_file.write(repr(gc.get_threshold()))

    atexit.register(report)
    """
)


@pytest.mark.parametrize("script, args", [("strata", ["--help"]), ("strata-dbt", ["--help"])])
def test_both_console_scripts_run_with_the_batch_thresholds(tmp_path, script, args):
    (tmp_path / "sitecustomize.py").write_text(REPORT_AT_EXIT)
    report = tmp_path / "thresholds"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")])),
        "THRESHOLD_REPORT": str(report),
    }
    finished = subprocess.run([str(BIN / script), *args], env=env, capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert report.read_text() == repr(BATCH_THRESHOLDS)


def test_cyclic_garbage_is_still_collected_past_the_threshold():
    """A run that drops more reference cycles than the threshold gets them collected."""
    program = textwrap.dedent(
        f"""
        import gc
        from orchestration.garbage_collection import tune_for_batch_process

        tune_for_batch_process()
        collections = []
        gc.callbacks.append(lambda phase, info: phase == "stop" and collections.append(info["collected"]))
        for _ in range({BATCH_THRESHOLDS[0]} + 100_000):
            cycle = []
            cycle.append(cycle)
        del cycle
        print(len(collections), sum(collections), gc.get_count()[0])
        """
    )
    finished = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    collections, collected, pending = map(int, finished.stdout.split())
    # One young-generation collection, where Python's defaults would run about 1,500.
    assert collections == 1
    assert collected >= BATCH_THRESHOLDS[0] // 2
    assert pending < BATCH_THRESHOLDS[0]


def test_strata_dbt_tunes_the_collector_before_importing_dbt():
    """dbt's imports allocate a large heap; strata-dbt's module imports none of dbt until main()
    has raised the thresholds."""
    program = "import sys, orchestration.dbt_entry; print(sorted(m for m in sys.modules if m.split('.')[0] == 'dbt'))"
    finished = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == "[]"
