"""Put dbt's NodeFinished event on a JSON stdout log, whatever the log level.

NodeFinished is the event that carries a node's run result as the node finishes: status, timings
and the adapter_response with its row counts. dbt classes it as a debug event, so a JSON log on
stdout at the usual info level (what dagster-dbt reads) never shows it, and the counts would only
be known from run_results.json once dbt exits. Raising the whole stdout log to debug would send
every SQL statement through Dagster's captured logs (about 7 MB per one-day build here); this
passes on the one event per node, formatted by dbt's own stdout logger, so it reads exactly as
the line dbt would print at debug level.

A dbt-duckdb plugin (named in profiles.yml) because plugins are what dbt-duckdb loads into the
dbt process; it touches nothing but the event manager's callbacks.
"""

from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager_client import get_event_manager
from dbt_common.events.logger import _JsonLogger, send_to_logger

STDOUT_LOGGER = "stdout_log"


def forward_node_finished(message) -> None:
    if message.info.name != "NodeFinished":
        return
    try:
        for logger in get_event_manager().loggers:
            # Only the usual info level: a quiet (warn, error) log stays quiet, a debug log has it already.
            if (
                logger.name == STDOUT_LOGGER
                and isinstance(logger, _JsonLogger)
                and logger.level == EventLevel.INFO
                and logger._python_logger is not None
            ):
                send_to_logger(logger._python_logger, EventLevel.INFO.value, logger.create_line(message))
    except Exception:  # dbt calls this inside the node's run: a log line must never fail a model
        pass


def install() -> None:
    manager = get_event_manager()
    if forward_node_finished not in manager.callbacks:
        manager.add_callback(forward_node_finished)


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        install()
