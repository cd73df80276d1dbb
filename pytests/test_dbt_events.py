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

from orchestration.dbt_events import write_line_if_enabled
from orchestration.dbt_invoke import UNIT_TESTS_LEFT_TO_CI, dbt_environment
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

    report = probe(tmp_path, "build", *UNIT_TESTS_LEFT_TO_CI)

    assert report["success"] is True
    assert report["mismatches"] == []
    # Several events a node, envelopes included; some go through dbt's own path (timings as strings).
    assert report["events"] > 2000
    assert report["envelopes"] >= report["events"] - 50
    assert 0 < report["refused"] < report["events"]
    assert {"NodeFinished", "SQLQuery", "SQLQueryStatus", "LogTestResult", "LogModelResult"} <= set(report["names"])


class _CountingLogger:
    """A dbt logger that counts the lines it formats."""

    formatted = 0

    def create_line(self, msg) -> str:
        self.formatted += 1
        return super().create_line(msg)


def written_lines(logger_base, line_format, level, write_line, messages) -> tuple[str, int]:
    """What a dbt logger at `level` writes of `messages`, and how many lines it formatted."""
    name = f"strata_counting_{logger_base.__name__}_{level.value}"
    logger_class = type("CountingLogger", (_CountingLogger, logger_base), {"write_line": write_line})
    stream = io.StringIO()
    logger = logger_class(LoggerConfig(name=name, line_format=line_format, level=level, output_stream=stream))
    try:
        for message in messages:
            logger.write_line(message)
    finally:
        logging.getLogger(name).handlers.clear()
    return stream.getvalue(), logger.formatted


def test_each_logger_writes_the_lines_it_wrote_before_and_formats_only_those():
    messages = [
        msg_from_base_event(Note(msg="a debug note"), level=EventLevel.DEBUG),
        msg_from_base_event(Note(msg="an info note"), level=EventLevel.INFO),
        msg_from_base_event(Note(msg="a warning"), level=EventLevel.WARN),
        # PrintEvent goes out at error level whatever the logger's level (dbt's --quiet).
        msg_from_base_event(PrintEvent(msg="printed"), level=EventLevel.DEBUG),
    ]
    # Logger level -> the messages it writes (quiet is error: PrintEvent alone).
    expected = {
        EventLevel.DEBUG: ["a debug note", "an info note", "a warning", "printed"],
        EventLevel.INFO: ["an info note", "a warning", "printed"],
        EventLevel.ERROR: ["printed"],
    }
    for line_format, base in ((LineFormat.Json, _JsonLogger), (LineFormat.DebugText, _TextLogger)):
        for level, kept in expected.items():
            dbt_lines, dbt_formatted = written_lines(base, line_format, level, _Logger.write_line, messages)
            strata_lines, strata_formatted = written_lines(
                base, line_format, level, write_line_if_enabled(_Logger.write_line), messages
            )
            assert strata_lines == dbt_lines, (base.__name__, level)
            assert [
                text for text in ("a debug note", "an info note", "a warning", "printed") if text in strata_lines
            ] == kept
            assert (dbt_formatted, strata_formatted) == (len(messages), len(kept)), (base.__name__, level)
