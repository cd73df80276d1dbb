"""Ending Strata's commands without the garbage collection of Python's interpreter teardown.

At exit Python empties every module and garbage-collects what they held. After a build the
orchestrating process held about 470,000 objects (Dagster, dbt-core, SQLAlchemy, the manifest),
and collecting them took 0.8 s of every `strata build` when measured (before dbt-core left that
process, orchestration/dagster_dbt_api.py); a dbt process spent 0.25 s the same way
before the orchestrator saw it exit. Nothing in that collection matters to a process about to
end: the operating system takes its memory back.

`run_then_exit` does what Python's own shutdown does first, in the same order (wait for the
threads that must finish, run the exit handlers, which close DuckDB and flush the log files,
flush stdout and stderr), then ends the process with the command's exit status. This is how
multiprocessing ends its child processes. An exception other than SystemExit is left to Python's
ordinary shutdown, traceback and all.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from collections.abc import Callable
from typing import NoReturn


def exit_status(code: object) -> int:
    """The status Python gives `sys.exit(code)`: None is 0, an int itself, anything else is
    printed on stderr and gives 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def run_then_exit(command: Callable[[], object]) -> NoReturn:
    try:
        command()
        status = 0
    except SystemExit as done:
        status = exit_status(done.code)
    # Private, and what Py_FinalizeEx calls: wakes idle thread pools and joins non-daemon threads.
    threading._shutdown()  # type: ignore[attr-defined]
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        # A reader that went away (a closed pipe) or a closed stream: nothing left to deliver.
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(status)
