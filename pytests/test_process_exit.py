"""Strata's commands end without Python's teardown, and lose nothing by it
(orchestration/process_exit.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

COMMAND = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from pathlib import Path
    from orchestration.process_exit import run_then_exit

    out = Path(sys.argv[1])

    class WrittenAtTeardown:
        def __del__(self):
            (out / "teardown").write_text("ran")

    kept_until_teardown = WrittenAtTeardown()

    def late_writer():
        time.sleep(0.5)
        (out / "thread").write_text("finished")

    def command():
        atexit.register(lambda: (out / "atexit").write_text("ran"))
        threading.Thread(target=late_writer).start()
        sys.stdout.write("end-of-output")  # held in the buffer of a pipe, no newline
        status = sys.argv[2]
        sys.exit(None if status == "0" else int(status) if status.isdigit() else status)

    run_then_exit(command)
    """
)


def run_command(tmp_path, exit_with: str) -> subprocess.CompletedProcess:
    # Buffered output, as a command's is on a pipe, so that an unflushed buffer would be lost.
    env = {name: value for name, value in os.environ.items() if name != "PYTHONUNBUFFERED"}
    return subprocess.run(
        [sys.executable, "-c", COMMAND, str(tmp_path), exit_with],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )


def test_a_command_ends_with_its_output_flushed_its_threads_joined_and_its_exit_handlers_run(tmp_path):
    done = run_command(tmp_path, "0")
    assert done.returncode == 0, done.stderr
    assert done.stdout.endswith("end-of-output")
    assert (tmp_path / "thread").read_text() == "finished"
    assert (tmp_path / "atexit").read_text() == "ran"
    # The garbage collection of the interpreter's teardown, which the module exists to skip.
    assert not (tmp_path / "teardown").exists()


def test_a_command_keeps_the_exit_status_python_would_give(tmp_path):
    assert run_command(tmp_path, "3").returncode == 3
    failed = run_command(tmp_path, "disk full")
    assert failed.returncode == 1
    assert failed.stderr.strip() == "disk full"
