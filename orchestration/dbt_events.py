"""dbt's log events at a fraction of their cost: built by their protobuf constructors, and
formatted only for a logger that writes them.

A one-day build fires tens of thousands of events, several per SQL statement, nearly all at debug
level. dbt spends on each, whether or not anything writes it (py-spy, GIL held, of ~7.5 s in the
node phase, which is GIL-bound, so this is wall time):

- about 1.3 s building it through `json_format.ParseDict`, which walks the keyword dictionary
  field by field in Python: once for the event (`BaseEvent.__init__`), once for its envelope
  (`msg_from_base_event`). The generated message classes take the same keywords in C (upb),
  10-25x faster.
- up to 1.4 s formatting it for each logger (a JSON log turns it into a dict and a JSON line, and
  scrubs secrets from it) before Python's logging drops the line for being below the logger's
  level. dbt's loggers filter by event name only, never by level.

The constructor and ParseDict agree on every well-typed dictionary: nested messages and Struct
fields given as dicts, None as unset, enum strings. Where the constructor refuses a value (a
timestamp or int64 given as a string, a float for an int, an unknown field), dbt's own ParseDict
path runs instead, unchanged, with its warning. They differ only on dictionaries that ParseDict
refuses and the constructor coerces (a bool for an int, a string for a list): dbt then logs a
warning and an empty event where this logs the coerced one. Those are dbt bugs, which dbt's own
test suite raises on. A line below its logger's level is now never formatted, so a failure to
serialize it (which dbt reports as a warning) is not reported either; nothing else changes.

pytests/test_dbt_events.py runs a real dbt build with every event also built dbt's way and
requires the two to be identical, so a dbt upgrade that changes either function, or passes a
value the two treat differently, fails the tests. Written against dbt-common 1.x (dbt-core 1.11,
pinned).
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime

from dbt_common import invocation
from dbt_common.events import base_types, event_manager
from dbt_common.events import functions as event_functions
from dbt_common.events.logger import _is_print_event, _Logger

# What the constructors raise for a value they do not take; ParseDict then decides, as in dbt.
REFUSED = (TypeError, ValueError, AttributeError)

# The logging level at which dbt's send_to_logger emits each event level. PrintEvent goes out at
# error whatever its level (so that --quiet still prints it), and an unknown level makes dbt raise:
# neither is skipped.
PYTHON_LEVELS = {
    "test": logging.DEBUG,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}


def constructed_event_init(parse_dict_init):
    @functools.wraps(parse_dict_init)
    def init(self, *args, **kwargs) -> None:
        if args:
            # dbt's Formatting event takes its message positionally; ParseDict's path knows how.
            parse_dict_init(self, *args, **kwargs)
            return
        fields = dict(kwargs)
        for name in ("base_msg", "msg"):
            if name in fields:
                fields[name] = str(fields[name])
        try:
            message = getattr(self.PROTO_TYPES_MODULE, type(self).__name__)(**fields)
        except REFUSED:
            parse_dict_init(self, **kwargs)
            return
        self.pb_msg = message

    init.strata_constructs_events = True
    return init


def constructed_envelope(parse_dict_envelope):
    @functools.wraps(parse_dict_envelope)
    def envelope(event, level=None):
        envelope_class = getattr(event.PROTO_TYPES_MODULE, f"{type(event).__name__}Msg")
        # dbt stamps the envelope through an RFC 3339 string with microseconds: the same instant.
        now = datetime.now(UTC).replace(tzinfo=None)
        message = envelope_class()
        info = message.info
        try:
            info.level = level.value if level else event.level_tag().value
            info.msg = event.message()
            info.invocation_id = invocation.get_invocation_id()
            info.extra.update(event_functions.get_metadata_vars())
            info.ts.FromDatetime(now)
            info.pid = base_types.get_pid()
            info.thread = base_types.get_thread_name()
            info.code = event.code()
            info.name = type(event).__name__
        except REFUSED:
            return parse_dict_envelope(event, level=level)
        message.data.CopyFrom(event.pb_msg)
        return message

    envelope.strata_constructs_events = True
    return envelope


def write_line_if_kept(write_line):
    @functools.wraps(write_line)
    def write_if_kept(self, msg) -> None:
        python_level = None if _is_print_event(msg) else PYTHON_LEVELS.get(msg.info.level)
        python_logger = self._python_logger
        if python_level is not None and python_logger is not None and not python_logger.isEnabledFor(python_level):
            return
        write_line(self, msg)

    write_if_kept.strata_constructs_events = True
    return write_if_kept


def install() -> None:
    if getattr(base_types.BaseEvent.__init__, "strata_constructs_events", False):
        return
    base_types.BaseEvent.__init__ = constructed_event_init(base_types.BaseEvent.__init__)
    # The event manager imported the function by name: that is the reference it calls.
    event_manager.msg_from_base_event = constructed_envelope(event_manager.msg_from_base_event)
    _Logger.write_line = write_line_if_kept(_Logger.write_line)
