"""`strata docs`: dbt's documentation as one self-contained page, readable from disk.

dbt 1.11 writes `static_index.html` (the docs app with the manifest and catalog inlined). As dbt
writes it, the page is not quite offline-clean when opened from a file:// URL, so it is patched:

- the anonymous-usage tracker would load a script from a CDN: dbt is run with usage stats off,
  which the page honours, and the script's URL is blanked in case a future page ignores it;
- the sidebar icons' `<use xlink:href="{{ ... }}">` makes Chromium fetch the uninterpolated
  Angular expression as a file before Angular fills it in (a console error per tree node):
  the attribute becomes `ng-attr-href`, set only once interpolated;
- the favicon link is an unbuilt webpack `${require(...)}` placeholder: it becomes an empty
  inline icon.

The catalog (column types as stored, row counts from macros/docs_catalog.sql) is read from the
data home's warehouse when it exists. Without one the site is built from the project alone
(descriptions, declared column types, lineage, compiled SQL) and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from orchestration.dbt_invoke import dbt_environment, dbt_executable
from orchestration.settings import PROJECT_DIR, warehouse_path
from orchestration.warehouse_lock import warehouse_lock

# The overview links the observability report (`strata report`) relative to the default docs location.
REPORT_LINK = "../report/index.html"
DBT_OUTPUT_TAIL_LINES = 25

# (what dbt writes, what the page gets instead, why)
PAGE_PATCHES = (
    (
        'xlink:href="{{ getIcon(',
        'ng-attr-href="{{ getIcon(',
        "icons fetched as files before Angular interpolates them",
    ),
    (
        "href=\"${require('./assets/favicons/favicon.ico')}\"",
        'href="data:,"',
        "favicon placeholder fetched as a file",
    ),
    (
        '"//d1fc8wv8zag5ca.cloudfront.net/2.9.0/sp.js"',
        '"data:text/javascript,"',
        "tracker script on a CDN",
    ),
    ("<title>dbt Docs</title>", "<title>Strata docs</title>", "page title"),
)


class DocsSiteError(Exception):
    """A failure with a message meant for the person running `strata docs`."""


def default_output(home: Path) -> Path:
    return home / "docs" / "index.html"


def report_path(home: Path) -> Path:
    return home / "report" / "index.html"


def build_docs_site(home: Path, output: Path | None = None, echo: Callable[[str], None] = lambda line: None) -> Path:
    """Generate dbt's docs for the project, write the patched page to `output` and return its path."""
    output = (output or default_output(home)).expanduser().resolve()
    if output.is_dir():
        raise DocsSiteError(f"--output {output} is a directory: pass the path of the HTML file to write")
    _check_writable(output)
    target = home / "target_docs"
    if warehouse_path(home).exists():
        # dbt-duckdb opens the file for writing, so a running build would make it fail; wait instead.
        with warehouse_lock(home, on_wait=echo):
            _generate(home, target, profiles_dir=None)
    else:
        echo(
            f"no warehouse at {warehouse_path(home)}: building the site from the project alone "
            "(no stored column types or row counts; run `strata build` first for those)"
        )
        with tempfile.TemporaryDirectory(prefix="strata-docs-profile-") as profiles_dir:
            _generate(home, target, profiles_dir=Path(profiles_dir))
    page = _patch_page((target / "static_index.html").read_text(encoding="utf-8"))
    page = _point_report_link(page, output, report_path(home))
    _write_atomically(output, page)
    return output


def _generate(home: Path, target: Path, profiles_dir: Path | None) -> None:
    # A target directory of its own: `docs generate` rewrites manifest.json and run_results.json,
    # which in target/ belong to the last build (the build history records them from there).
    env = {
        **os.environ,
        **dbt_environment(home),
        "DBT_TARGET_PATH": str(target),
        # The manifest then tells the page not to load dbt's tracker from the internet.
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    command = [dbt_executable(), "docs", "generate", "--static"]
    if profiles_dir is not None:
        # Without a warehouse, DuckDB would create an empty one at the profile's path, and later
        # commands would take it for a built warehouse: compile against an in-memory database.
        (profiles_dir / "profiles.yml").write_text(_in_memory_profile(), encoding="utf-8")
        env["DBT_PROFILES_DIR"] = str(profiles_dir)
        command.append("--empty-catalog")
    completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-DBT_OUTPUT_TAIL_LINES:])
        raise DocsSiteError(
            f"`dbt docs generate` failed (exit {completed.returncode}); its log is {home / 'logs' / 'dbt.log'}:\n{tail}"
        )
    if not (target / "static_index.html").exists():
        raise DocsSiteError(f"`dbt docs generate --static` wrote no {target / 'static_index.html'}")


def _in_memory_profile() -> str:
    return json.dumps(
        {
            "strata": {
                "target": "docs",
                "outputs": {
                    "docs": {"type": "duckdb", "path": ":memory:", "threads": 2, "settings": {"TimeZone": "UTC"}}
                },
            }
        }
    )


def _patch_page(page: str) -> str:
    # A pattern dbt no longer writes is skipped: the browser test (pytests/test_docs_site.py)
    # fails on any console error or request leaving the file system, whatever its cause.
    for original, replacement, _why in PAGE_PATCHES:
        page = page.replace(original, replacement)
    return page


def _point_report_link(page: str, output: Path, report: Path) -> str:
    """Make the overview's link reach the report from wherever the page is written."""
    relative = os.path.relpath(report, output.parent)
    if relative == REPORT_LINK:
        return page
    # The overview's markdown sits JSON-encoded inside the page.
    return page.replace(f"]({REPORT_LINK})", f"]({json.dumps(relative)[1:-1]})")


def _check_writable(output: Path) -> None:
    # Checked before dbt runs, so a typo in --output costs a second, not a whole docs generation.
    blocking = next((parent for parent in output.parents if parent.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise DocsSiteError(f"cannot write --output {output}: {blocking} is a file, not a directory")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DocsSiteError(f"cannot create the directory of --output {output}: {error.strerror or error}") from None
    if not os.access(output.parent, os.W_OK):
        raise DocsSiteError(f"cannot write --output {output}: {output.parent} is not writable")


def _write_atomically(output: Path, page: str) -> None:
    # A reader (or a browser reloading) never sees half a page; a failed run leaves the old one.
    tmp_name = None
    try:
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=output.parent, suffix=".tmp", delete=False) as tmp:
            tmp_name = tmp.name
            tmp.write(page)
        # NamedTemporaryFile creates 0600; the page is meant to be shared like any document.
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, output)
    except OSError as error:
        if tmp_name:
            Path(tmp_name).unlink(missing_ok=True)
        raise DocsSiteError(f"cannot write --output {output}: {error.strerror or error}") from None
