"""`strata-dbt`: the dbt command Strata runs, which keeps dbt's saved parse from one window to the next.

dbt re-parses the whole project (about 3 s at full scale, on every run) whenever the command line's
vars differ from those of the saved parse, because a var can change what parsing produces. Strata
hands every run its window as vars, so each daily run would pay for a full parse. The window
vars never reach what dbt stores at parse time: the model settings that depend on the window
name its bounds as {placeholders} filled in when the model runs (macros/window.sql,
strata_bound), and model bodies are rendered again at run time anyway. This entry point leaves
those vars out of the fingerprint dbt compares before reusing its saved parse; any other var,
the profile, the target or a changed file still forces a re-parse, as in dbt.

pytests/test_dbt_entry.py parses the project under two windows and without vars and requires
identical manifests, so a setting that starts rendering a window var at parse time fails the
tests instead of leaving a stale date in a later run. The patch is written against dbt-core 1.11
(pinned).

`install` also makes dbt's log events cheap (orchestration/dbt_events.py) and keeps the type
testers of its result tables (orchestration/dbt_result_tables.py), changes of their own;
`main` tunes the garbage collector for a batch process (orchestration/garbage_collection.py);
`strata-dbt --standby` imports dbt and then waits for its command (orchestration/dbt_standby.py).

Plain `dbt` keeps working on the same project. Run without vars, it fingerprints what
strata-dbt does when only the window differs, so the two share a saved parse (safe for the same
reason); run with window vars, it fingerprints them and re-parses as usual.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

from orchestration.dbt_standby import STANDBY_FLAG, wait_for_command
from orchestration.garbage_collection import tune_for_batch_process
from orchestration.process_exit import run_then_exit

if TYPE_CHECKING:
    from dbt.parser.manifest import ManifestLoader

# Vars that only choose a run's data (its window and the landing batches it skips).
WINDOW_VARS = frozenset({"window_start", "window_end", "excluded_batches"})


def _without_window_vars(build_manifest_state_check):
    @functools.wraps(build_manifest_state_check)
    def build(loader: ManifestLoader):
        project = loader.root_project
        cli_vars = project.cli_vars
        project.cli_vars = {name: value for name, value in cli_vars.items() if name not in WINDOW_VARS}
        try:
            return build_manifest_state_check(loader)
        finally:
            project.cli_vars = cli_vars

    build.strata_window_vars_ignored = True
    return build


def install() -> None:
    # dbt is imported here, not at the top, so that main() tunes the collector before dbt's imports.
    from dbt.parser.manifest import ManifestLoader

    from orchestration import dbt_events, dbt_result_tables

    dbt_events.install()
    dbt_result_tables.install()
    if not getattr(ManifestLoader.build_manifest_state_check, "strata_window_vars_ignored", False):
        ManifestLoader.build_manifest_state_check = _without_window_vars(ManifestLoader.build_manifest_state_check)


def main() -> None:
    tune_for_batch_process()
    install()
    from dbt.cli.main import cli

    if sys.argv[1:] == [STANDBY_FLAG] and not wait_for_command():
        run_then_exit(lambda: None)  # not needed after all: nothing to run
    run_then_exit(cli)


if __name__ == "__main__":
    main()
