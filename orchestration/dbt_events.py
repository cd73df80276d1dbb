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
timestamp or int64 given as a string, a float for an int, an unknown field, an out-of-range
int), dbt's own ParseDict path runs instead, unchanged, with its warning.

They differ only on values that ParseDict refuses and the constructor coerces: a bool for an int
or an int for a bool, a string for a list, bytes for a string, a datetime for a timestamp, a
message object for a message field. dbt would then log a warning and an empty event; this logs
the coerced event and no warning, so a run with `--warn-error` under dbt's
`require_warn_or_error_handling` no longer fails on that warning. Those inputs are dbt bugs,
which dbt's own test suite raises on. Likewise a line below its logger's level is never
formatted, so a failure to serialize it (a warning in dbt) is not reported either. Nothing else
changes.

pytests/test_dbt_events.py runs a real dbt build with every event and envelope also built dbt's
way and requires the two to be identical, and compares the lines dbt's loggers write at each
level with and without the change; a dbt upgrade that changes these functions, or passes a value
the two paths treat differently, fails it. Written against dbt-core 1.11.x and the dbt-common it
allows.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime

from dbt_common.events import base_types, event_manager
from dbt_common.events.logger import _is_print_event, _log_level_map, _Logger

# What the constructors raise for a value they do not take; ParseDict then decides, as in dbt.
CONSTRUCTOR_REFUSALS = (TypeError, ValueError, AttributeError)

# Marks each installed function, so that installing twice never wraps one twice.
MARKER = "strata_cheap_events"


def constructed_message(event, kwargs: dict):
    """The event's message built by its class's constructor from dbt's keywords, or None where the
    constructor refuses a value."""
    fields = dict(kwargs)
    for name in ("base_msg", "msg"):
        if name in fields:
            fields[name] = str(fields[name])
    try:
        return getattr(event.PROTO_TYPES_MODULE, type(event).__name__)(**fields)
    except CONSTRUCTOR_REFUSALS:
        return None


def constructed_event_init(parse_dict_init):
    @functools.wraps(parse_dict_init)
    def init(self, *args, **kwargs) -> None:
        # dbt's Formatting event takes its message positionally; ParseDict's path knows how.
        message = None if args else constructed_message(self, kwargs)
        if message is None:
            parse_dict_init(self, *args, **kwargs)
            return
        self.pb_msg = message

    setattr(init, MARKER, True)
    return init


def constructed_envelope(parse_dict_envelope):
    @functools.wraps(parse_dict_envelope)
    def envelope(event, level=None):
        message = getattr(event.PROTO_TYPES_MODULE, f"{type(event).__name__}Msg")()
        info = message.info
        try:
            info.level = level.value if level else event.level_tag().value
            info.msg = event.message()
            info.invocation_id = base_types.get_invocation_id()
            info.extra.update(base_types.get_global_metadata_vars())
            # dbt stamps the envelope at this point, through an RFC 3339 string with microseconds.
            info.ts.FromDatetime(datetime.now(UTC).replace(tzinfo=None))
            info.pid = base_types.get_pid()
            info.thread = base_types.get_thread_name()
            info.code = event.code()
            info.name = type(event).__name__
        except CONSTRUCTOR_REFUSALS:
            return parse_dict_envelope(event, level=level)
        message.data.CopyFrom(event.pb_msg)
        return message

    setattr(envelope, MARKER, True)
    return envelope


def write_line_if_enabled(write_line):
    @functools.wraps(write_line)
    def write_if_enabled(self, msg) -> None:
        # dbt's send_to_logger emits each event level at the Python level of dbt's own level map.
        # PrintEvent goes out at error whatever its level (--quiet still prints it), and an
        # unknown level makes dbt raise: neither is skipped.
        python_level = None if _is_print_event(msg) else _log_level_map.get(msg.info.level)
        python_logger = self._python_logger
        if python_level is not None and python_logger is not None and not python_logger.isEnabledFor(python_level):
            return
        write_line(self, msg)

    setattr(write_if_enabled, MARKER, True)
    return write_if_enabled


def install() -> None:
    if not getattr(base_types.BaseEvent.__init__, MARKER, False):
        base_types.BaseEvent.__init__ = constructed_event_init(base_types.BaseEvent.__init__)
    # The event manager imported the function by name: that is the reference it calls.
    if not getattr(event_manager.msg_from_base_event, MARKER, False):
        event_manager.msg_from_base_event = constructed_envelope(event_manager.msg_from_base_event)
    if not getattr(_Logger.write_line, MARKER, False):
        _Logger.write_line = write_line_if_enabled(_Logger.write_line)
