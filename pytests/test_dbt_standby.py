"""The dbt process a `strata build` starts ahead of its command (orchestration/dbt_standby.py).

Every Python process of a real build reports at exit (a sitecustomize on PYTHONPATH, which hides
any other sitecustomize for those processes) how it was started, the command it ran and the
environment it ran it in.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from orchestration.dbt_standby import STANDBY_FLAG, DbtStandby
from orchestration.settings import PROJECT_DIR
from pytests.conftest import query, run_strata

REPORT_AT_EXIT = textwrap.dedent(
    """
    import atexit, json, os, sys

    def report():
        with open(f"/proc/{os.getpid()}/cmdline", "rb") as cmdline:
            started_as = [part.decode() for part in cmdline.read().split(b"\\0") if part]
        path = os.path.join(os.environ["PROCESS_REPORTS"], f"{os.getpid()}.json")
        with open(path, "w") as report_file:
            json.dump({
                "started_as": started_as,
                "argv": sys.argv,
                "cwd": os.getcwd(),
                "target_path": os.environ.get("DBT_TARGET_PATH"),
                "log_format": os.environ.get("DBT_LOG_FORMAT"),
            }, report_file)

    atexit.register(report)
    """
)
DAY = dt.date(2024, 1, 1)


def dbt_processes(reports: Path) -> list[dict]:
    processes = [json.loads(path.read_text()) for path in reports.glob("*.json")]
    return [process for process in processes if any(Path(part).name == "strata-dbt" for part in process["started_as"])]


def test_a_build_runs_its_dbt_command_in_the_process_started_ahead(tmp_path):
    home = tmp_path / "home"
    generated = run_strata(home, "generate", "--start", DAY.isoformat(), "--days", "1", "--orders-per-day", "50")
    assert generated.returncode == 0, generated.output
    reports = tmp_path / "reports"
    reports.mkdir()
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(REPORT_AT_EXIT)
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path / "site"), os.environ.get("PYTHONPATH")])),
        "PROCESS_REPORTS": str(reports),
        # What the standby starts with; dagster-dbt runs the command with json.
        "DBT_LOG_FORMAT": "text",
    }
    built = run_strata(home, "build", "--select", "raw", "--start", DAY.isoformat(), "--end", "2024-01-02", env=env)
    assert built.returncode == 0, built.output[-4000:]

    # One dbt process: the standby, which ran the build with what dagster-dbt gave the command
    # (its environment, not the one the standby started with, and the project as working directory).
    (dbt,) = dbt_processes(reports)
    assert dbt["started_as"][-1] == STANDBY_FLAG
    assert dbt["argv"][1] == "build" and "--select" in dbt["argv"]
    assert dbt["target_path"] == str(home / "target")
    assert dbt["log_format"] == "json"
    assert Path(dbt["cwd"]) == PROJECT_DIR
    assert query(home, "select count(*) from raw.raw_orders")[0][0] > 0
    assert json.loads((home / "target" / "run_results.json").read_text())["args"]["which"] == "build"


def test_a_build_that_never_reaches_dbt_leaves_no_dbt_process(tmp_path):
    home = tmp_path / "home"
    # No landing data: the build fails before its run starts.
    failed = run_strata(home, "build")
    assert failed.returncode != 0
    assert "landing directory not found" in failed.output
    assert processes_of(home) == []
    assert not (home / "target").exists()


def test_an_unused_standby_is_ended_with_the_build():
    standby = DbtStandby.start()
    process = standby.process
    standby.discard()
    assert process.returncode is not None
    assert process.stdin.closed and process.stdout.closed


def test_a_dead_standby_leaves_the_command_to_a_new_process():
    standby = DbtStandby.start()
    standby.process.kill()
    standby.process.wait()
    keywords = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "env": dict(os.environ), "cwd": PROJECT_DIR}
    assert standby.take([standby.executable, "build"], keywords) is None
    standby.discard()


def test_a_standby_only_stands_in_for_the_command_dagster_dbt_starts():
    standby = DbtStandby.start()
    try:
        dbt_keywords = {"stdout": subprocess.PIPE, "stderr": subprocess.STDOUT, "env": None, "cwd": None}
        assert standby.take(["dbt", "build"], dbt_keywords) is None
        assert standby.take([standby.executable, "build"], {**dbt_keywords, "stdin": subprocess.PIPE}) is None
        assert standby.take([standby.executable, "build"], {**dbt_keywords, "stderr": subprocess.PIPE}) is None
        assert not standby.taken
    finally:
        standby.discard()


def test_a_standby_exits_when_the_build_process_dies():
    program = textwrap.dedent(
        """
        import os
        from orchestration.dbt_standby import DbtStandby

        print(DbtStandby.start().process.pid, flush=True)
        os._exit(0)
        """
    )
    finished = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert finished.returncode == 0, finished.stderr
    pid = int(finished.stdout)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process_running(pid):
        time.sleep(0.2)
    assert not process_running(pid)


def processes_of(home: Path) -> list[int]:
    """Live strata-dbt processes started for this data home (STRATA_HOME in their environment)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:  # ended meanwhile
            continue
        is_dbt = any(Path(part.decode()).name == "strata-dbt" for part in cmdline if part)
        if is_dbt and f"STRATA_HOME={home}".encode() in environ and process_running(int(proc.name)):
            found.append(int(proc.name))
    return found


def process_running(pid: int) -> bool:
    """Running and not a zombie (an orphan's exit is reaped by whoever adopted it, maybe late)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    state = next(line.split()[1] for line in status.splitlines() if line.startswith("State:"))
    return state != "Z"
