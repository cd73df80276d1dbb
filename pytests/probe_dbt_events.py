"""Run dbt as strata-dbt does, with every log event also built dbt's own way, and report differences.

    python pytests/probe_dbt_events.py REPORT.json DBT_ARGS...

Run by pytests/test_dbt_events.py in a child process, so that the patched event classes never
reach the test process. Its name must not start with `dbt_`: dbt imports every top-level module
so named on sys.path as a plugin, and would run this one's patching a second time.

The report (JSON) counts the events and envelopes compared and those the constructor refused
(built by ParseDict both ways), and lists the event names seen, every mismatch and dbt's success.
"""

from __future__ import annotations

import json
import sys

from dbt_common.events import base_types, event_manager

from orchestration import dbt_entry, dbt_events

parse_dict_init = base_types.BaseEvent.__init__
parse_dict_envelope = event_manager.msg_from_base_event
dbt_entry.install()
constructed_init = base_types.BaseEvent.__init__
constructed_envelope = event_manager.msg_from_base_event

report: dict = {"events": 0, "envelopes": 0, "refused": 0, "names": set(), "mismatches": []}


def checked_init(self, *args, **kwargs) -> None:
    constructed_init(self, *args, **kwargs)
    reference = object.__new__(type(self))
    parse_dict_init(reference, *args, **kwargs)
    report["events"] += 1
    report["names"].add(type(self).__name__)
    if not args and dbt_events.constructed_message(self, kwargs) is None:
        report["refused"] += 1
    if self.pb_msg != reference.pb_msg:
        report["mismatches"].append(f"event {type(self).__name__}: {self.pb_msg} != {reference.pb_msg}")


def checked_envelope(event, level=None):
    message = constructed_envelope(event, level=level)
    reference = parse_dict_envelope(event, level=level)
    report["envelopes"] += 1
    # The two stamp the time separately; the stamp's form is compared, not its instant.
    if message.info.ts.nanos % 1000 or reference.info.ts.nanos % 1000:
        report["mismatches"].append(f"envelope {type(event).__name__}: timestamp finer than microseconds")
    reference.info.ts.CopyFrom(message.info.ts)
    if message != reference:
        report["mismatches"].append(f"envelope {type(event).__name__}: {message.info} != {reference.info}")
    return message


def main() -> None:
    report_path, dbt_args = sys.argv[1], sys.argv[2:]
    base_types.BaseEvent.__init__ = checked_init
    event_manager.msg_from_base_event = checked_envelope
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(dbt_args)
    with open(report_path, "w") as report_file:
        json.dump({**report, "names": sorted(report["names"]), "success": result.success}, report_file)


if __name__ == "__main__":
    main()
