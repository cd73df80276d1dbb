"""A dbt process started ahead of its command, so that dbt's imports overlap Dagster's.

A `strata build` spends its first ~1.4 s loading Dagster and the definitions on one core, and
then its dbt step starts `strata-dbt`, which spends ~1 s importing dbt-core (mostly class
creation in its artifact schemas) before it reads a file. Nothing in those imports depends on
the command: `strata build` therefore starts `strata-dbt --standby` first thing, which imports
dbt and the DuckDB adapter on the second core and then waits on its stdin. When the dbt step
starts its command, the standby receives the command line, the environment and the working
directory dagster-dbt would have started a new process with, takes them as its own and runs
the command; dagster-dbt reads its output and waits for it as for any process it started.

The handover replaces `subprocess` in dagster-dbt's module that starts dbt (a private name,
dagster_dbt.core.dbt_cli_invocation) with a stand-in whose Popen hands the first matching
command to the standby and starts every other process as usual. Only a process that started a
standby installs it; when dagster-dbt no longer has that name, the build runs as before and
pytests/test_dbt_standby.py fails. A standby the build never used (a run without dbt, a build
that failed before its dbt step) is killed when the build ends; if the build process dies first,
the standby reads end-of-file on its stdin and exits without running anything.

Both ends are in this module; the dbt end (`wait_for_command`) runs in strata-dbt, which must
not import Dagster, so nothing here does at import time.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

STANDBY_FLAG = "--standby"
# What dagster-dbt passes to Popen besides the command: the standby reproduces exactly these.
HANDED_OVER_KEYWORDS = frozenset({"stdout", "stderr", "env", "cwd"})


class DbtStandby:
    """The orchestrating end: one dbt process waiting for one command."""

    def __init__(self, process: subprocess.Popen, executable: str) -> None:
        self.process = process
        self.executable = executable
        self.taken = False

    @classmethod
    def start(cls) -> DbtStandby:
        from orchestration.dbt_invoke import dbt_executable
        from orchestration.settings import PROJECT_DIR

        executable = dbt_executable()
        process = subprocess.Popen(
            [executable, STANDBY_FLAG],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_DIR,
            # Read by Python at start-up, so it cannot come with the command: dagster-dbt sets it.
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        standby = cls(process, executable)
        _hand_dagster_dbt_commands_to(standby)
        return standby

    def take(self, args: Sequence[str], keywords: dict[str, Any]) -> subprocess.Popen | None:
        """The standby running `args`, or None when it cannot stand in for this Popen call."""
        if (
            self.taken
            or not args
            or str(args[0]) != self.executable
            or set(keywords) != HANDED_OVER_KEYWORDS
            or keywords["stdout"] != subprocess.PIPE
            or keywords["stderr"] != subprocess.STDOUT
            or self.process.poll() is not None
        ):
            return None
        env = os.environ if keywords["env"] is None else keywords["env"]
        cwd = os.getcwd() if keywords["cwd"] is None else keywords["cwd"]
        request = {"args": [str(arg) for arg in args], "env": dict(env), "cwd": os.fspath(cwd)}
        try:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.close()
        except OSError:  # the standby died (killed, out of memory): start dbt the usual way
            return None
        self.taken = True
        # dagster-dbt names the command in its logs from Popen.args.
        self.process.args = list(args)
        return self.process

    def discard(self) -> None:
        """End an unused standby. It has only imported modules, so it is simply killed."""
        if self.taken:
            return
        self.taken = True
        self.process.kill()
        self.process.wait()
        self.process.stdin.close()
        self.process.stdout.close()


class _SubprocessWithStandby:
    """`subprocess` as dagster-dbt's invocation module sees it once a standby is waiting."""

    def __init__(self, standby: DbtStandby) -> None:
        self._standby = standby

    def __getattr__(self, name: str) -> Any:
        return getattr(subprocess, name)

    def Popen(self, args, **keywords):  # noqa: N802 (subprocess's name)
        return self._standby.take(args, keywords) or subprocess.Popen(args, **keywords)


def _hand_dagster_dbt_commands_to(standby: DbtStandby) -> None:
    import orchestration.dagster_dbt_api  # noqa: F401 (first: dagster-dbt without dbt-core)

    # isort: split
    from dagster_dbt.core import dbt_cli_invocation  # noqa: TID251 (the private name patched)

    current = getattr(dbt_cli_invocation, "subprocess", None)
    if current is subprocess or isinstance(current, _SubprocessWithStandby):
        dbt_cli_invocation.subprocess = _SubprocessWithStandby(standby)


def wait_for_command() -> bool:
    """The dbt end, in strata-dbt: import what every command needs, then take the command line,
    environment and working directory from stdin. False at end-of-file (not needed)."""
    import dbt.adapters.duckdb  # noqa: F401 (what dbt would import when it loads the profile)

    line = sys.stdin.readline()
    if not line:
        return False
    request = json.loads(line)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    sys.argv = request["args"]
    return True
