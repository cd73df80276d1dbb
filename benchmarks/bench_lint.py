"""Benchmark the PR checks: sqlfluff's two templaters, a one-file pre-commit run, the whole lint.

    .venv/bin/python benchmarks/bench_lint.py [--repeats 3]

Runs in a fresh clone of HEAD (the working tree's .venv linked into it), so uncommitted files
and earlier scratch homes do not count. Measured, median of --repeats wall-clock runs:

- sqlfluff over models/ and tests/ with the dbt templater (the configured one) and with the jinja
  templater, with the number of files each failed to render (a file that does not render is not
  linted at all);
- `pre-commit run --files <model>` after a one-line change to that model, as a commit touching one
  SQL file runs it (sqlfluff on the file, dbt parse, conventions, the file checks); the change is
  new on each run, so dbt re-parses the file as it would;
- `pre-commit run --all-files`;
- `make lint` (ruff and sqlfluff over everything) and `make check` (lint, then the conventions
  check on the catalog of an empty build), which `make test` runs before pytest.

Prints a markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ONE_FILE = "models/modeled/fct_orders.sql"


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None, ok_codes=(0,)) -> tuple[float, str]:
    start = time.perf_counter()
    completed = subprocess.run(
        command, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - start
    output = completed.stdout + completed.stderr
    if completed.returncode not in ok_codes:
        sys.exit(f"{' '.join(command)} exited with {completed.returncode}:\n{output[-3000:]}")
    return seconds, output


def templating_failures(output: str) -> list[str]:
    failed, current = [], None
    for line in output.splitlines():
        match = re.match(r"== \[(\S+)\] FAIL", line)
        if match:
            current = match.group(1)
        elif current and "TMP" in line and current not in failed:
            failed.append(current)
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_lint_") as work:
        clone = Path(work) / "strata"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        (clone / ".venv").symlink_to(REPO / ".venv")
        bin_dir = clone / ".venv" / "bin"
        lint_env = {"STRATA_HOME": str(clone / ".strata" / "lint")}
        (clone / ".strata" / "lint").mkdir(parents=True)
        sqlfluff = [str(bin_dir / "sqlfluff"), "lint", "--disable-progress-bar", "models", "tests"]

        results: dict[str, list[float]] = {}
        notes: dict[str, str] = {}
        for _ in range(args.repeats):
            for templater in ("dbt", "jinja"):
                seconds, output = timed(sqlfluff + ["--templater", templater], clone, lint_env, ok_codes=(0, 1))
                results.setdefault(f"sqlfluff, {templater} templater, whole project", []).append(seconds)
                failed = templating_failures(output)
                notes[f"sqlfluff, {templater} templater, whole project"] = (
                    f"{len(failed)} files not rendered" if failed else "every file rendered"
                )

            model = clone / ONE_FILE
            original = model.read_text()
            model.write_text(original + f"-- bench change {time.time_ns()}\n")
            seconds, _ = timed([str(bin_dir / "pre-commit"), "run", "--files", ONE_FILE], clone)
            model.write_text(original)
            results.setdefault("pre-commit, one changed model", []).append(seconds)

            seconds, _ = timed([str(bin_dir / "pre-commit"), "run", "--all-files"], clone)
            results.setdefault("pre-commit, all files", []).append(seconds)
            for target in ("lint", "check"):
                # -o: the clone's pyproject.toml is newer than the linked .venv; never reinstall.
                seconds, _ = timed(["make", "-o", ".venv/bin/strata", target], clone)
                results.setdefault(f"make {target}", []).append(seconds)

    print(f"| what | median of {args.repeats} (s) | runs (s) | note |")
    print("|---|---:|---|---|")
    for name, runs in results.items():
        listed = ", ".join(f"{run:.1f}" for run in runs)
        print(f"| {name} | {statistics.median(runs):.1f} | {listed} | {notes.get(name, '')} |")


if __name__ == "__main__":
    main()
