"""strata-dbt builds dbt's log events with their constructors and formats only the lines it writes
(orchestration/dbt_events.py); both must leave every event and every written line as dbt makes them.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from pathlib import Path

from dbt_common.events.base_types import EventLevel, msg_from_base_event
from dbt_common.events.logger import LineFormat, LoggerConfig, _JsonLogger, _Logger, _TextLogger
from dbt_common.events.types import Note, PrintEvent

from orchestration.dbt_events import write_line_if_kept
from orchestration.dbt_invoke import dbt_environment
from orchestration.settings import PROJECT_DIR
from pytests.conftest import run_strata

PROBE = Path(__file__).with_name("probe_dbt_events.py")


def probe(home: Path, *dbt_args: str) -> dict:
    report = home / "events_report.json"
    # dbt's ParseDict path raises instead of warning under pytest; the probe compares it as users run it.
    environment = {name: value for name, value in os.environ.items() if name != "PYTEST_CURRENT_TEST"}
    completed = subprocess.run(
        [sys.executable, str(PROBE), str(report), *dbt_args],
        cwd=PROJECT_DIR,
        env={**environment, **dbt_environment(home), "PYTHONPATH": str(PROJECT_DIR)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert report.exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return json.loads(report.read_text())


def test_every_event_of_a_real_build_is_the_event_dbt_would_build(tmp_path):
    generated = run_strata(
        tmp_path, "generate", "--start", "2024-01-01", "--days", "2", "--orders-per-day", "40", "--no-progress"
    )
    assert generated.returncode == 0, generated.output

    report = probe(tmp_path, "build", "--exclude-resource-type", "unit_test")

    assert report["success"] is True
    assert report["mismatches"] == []
    # Several events a node, envelopes included; some go through dbt's own path (timings as strings).
    assert report["events"] > 2000
    assert report["envelopes"] >= report["events"] - 50
    assert 0 < report["refused"] < report["events"]
    assert {"NodeFinished", "SQLQuery", "SQLQueryStatus", "LogTestResult", "LogModelResult"} <= set(report["names"])


class _ProbeLogger:
    """A dbt logger that counts the lines it formats."""

    formatted = 0

    def create_line(self, msg) -> str:
        self.formatted += 1
        return super().create_line(msg)


def test_a_line_below_its_loggers_level_is_never_formatted_and_the_others_are_written_as_before():
    messages = [
        msg_from_base_event(Note(msg="a debug note"), level=EventLevel.DEBUG),
        msg_from_base_event(Note(msg="an info note"), level=EventLevel.INFO),
        msg_from_base_event(Note(msg="a warning"), level=EventLevel.WARN),
        # PrintEvent goes out at error level whatever the logger's level (dbt's --quiet).
        msg_from_base_event(PrintEvent(msg="printed"), level=EventLevel.DEBUG),
    ]
    for line_format, base in ((LineFormat.Json, _JsonLogger), (LineFormat.DebugText, _TextLogger)):
        written = {}
        for variant, write_line in (("dbt", _Logger.write_line), ("strata", write_line_if_kept(_Logger.write_line))):
            logger_class = type(f"{variant}Logger", (_ProbeLogger, base), {"write_line": write_line})
            stream = io.StringIO()
            logger = logger_class(
                LoggerConfig(
                    name=f"strata_probe_{variant}", line_format=line_format, level=EventLevel.INFO, output_stream=stream
                )
            )
            for message in messages:
                logger.write_line(message)
            written[variant] = (stream.getvalue(), logger.formatted)
            logging.getLogger(f"strata_probe_{variant}").handlers.clear()

        dbt_lines, dbt_formatted = written["dbt"]
        strata_lines, strata_formatted = written["strata"]
        assert strata_lines == dbt_lines
        assert [line for line in strata_lines.splitlines() if line] and "a debug note" not in strata_lines
        assert "printed" in strata_lines and "a warning" in strata_lines
        assert (dbt_formatted, strata_formatted) == (4, 3)
