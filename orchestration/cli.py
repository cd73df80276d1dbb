"""The `strata` command line."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from pathlib import Path

import click

from orchestration.settings import landing_dir, strata_home


def _parse_date(ctx: click.Context, param: click.Parameter, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date in YYYY-MM-DD form") from None


def _generator_default(options_class: type, field_name: str):
    """The generator's own default, so the CLI and the library never drift apart."""
    return next(f.default for f in dataclasses.fields(options_class) if f.name == field_name)


def _rate_option(flag: str, noise_field: str, help_text: str):
    from orchestration.generator import NoiseOptions

    default = _generator_default(NoiseOptions, noise_field)
    return click.option(flag, default=default, show_default=True, type=click.FloatRange(0, 1), help=help_text)


def _count_option(flag: str, options_field: str, minimum: int, help_text: str):
    from orchestration.generator import GenerateOptions

    default = _generator_default(GenerateOptions, options_field)
    return click.option(flag, default=default, show_default=True, type=click.IntRange(min=minimum), help=help_text)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Strata: a layered analytics platform (dbt on DuckDB, orchestrated by Dagster).

    Data lives in the data home, $STRATA_HOME (default: .strata/ in the repository).
    """


@main.command()
@click.option("--start", required=True, callback=_parse_date, help="First batch date, YYYY-MM-DD.")
@click.option("--days", required=True, type=click.IntRange(min=1), help="Number of daily batches.")
@_count_option("--seed", "seed", 0, "Same seed, same bytes.")
@_count_option("--orders-per-day", "orders_per_day", 1, "Orders per day (varies by about 10% day to day).")
@_count_option("--initial-customers", "initial_customers", 1, "Customers in the first batch.")
@_count_option("--new-customers-per-day", "new_customers_per_day", 0, "Customers signing up each day.")
@click.option(
    "--world-start",
    callback=_parse_date,
    help="Day the simulated world began (default: --start). Pass the same value to extend a history.",
)
@click.option(
    "--new-column-from",
    callback=_parse_date,
    help="Schema drift: orders gain a `channel` column from this batch date on.",
)
@_rate_option("--late-rate", "late_event_rate", "Share of events collected 1-3 days late.")
@_rate_option("--duplicate-rate", "duplicate_rate", "Share of records delivered twice.")
@_rate_option("--update-rate", "customer_update_rate", "Share of customers whose profile changes per day.")
@_rate_option("--malformed-rate", "malformed_rate", "Share of extra malformed rows.")
@click.option(
    "--workers",
    type=click.IntRange(min=1, max=64),
    help="Writer processes (default: one per CPU for large runs). Never changes the output.",
)
@click.option("--no-noise", is_flag=True, help="Switch every kind of noise off.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar on stderr.")
def generate(
    start,
    days,
    seed,
    orders_per_day,
    initial_customers,
    new_customers_per_day,
    world_start,
    new_column_from,
    late_rate,
    duplicate_rate,
    update_rate,
    malformed_rate,
    no_noise,
    progress,
    workers,
) -> None:
    """Write synthetic daily landing batches (deterministic for a seed)."""
    from orchestration.generator import GenerateOptions, GeneratorOptionError, NoiseOptions
    from orchestration.generator import generate as run

    noise = (
        NoiseOptions.none()
        if no_noise
        else NoiseOptions(
            late_event_rate=late_rate,
            duplicate_rate=duplicate_rate,
            customer_update_rate=update_rate,
            malformed_rate=malformed_rate,
        )
    )
    try:
        options = GenerateOptions(
            start=start,
            days=days,
            seed=seed,
            orders_per_day=orders_per_day,
            initial_customers=initial_customers,
            new_customers_per_day=new_customers_per_day,
            world_start=world_start,
            new_column_from=new_column_from,
            noise=noise,
            workers=workers,
        )
        summary = run(landing_dir(), options, progress=progress)
    except GeneratorOptionError as error:
        raise click.UsageError(str(error)) from None
    click.echo(f"landed {summary.batches} batches, {summary.rows:,} rows in {summary.seconds:.1f}s -> {landing_dir()}")


@main.command("import-jafgen")
@click.argument("source_dir", type=click.Path(path_type=Path))
@click.option("--prefix", help="File name prefix jafgen used (its --pre); detected when omitted.")
def import_jafgen_command(source_dir: Path, prefix: str | None) -> None:
    """Turn the CSVs written by `jafgen` into landing batches."""
    from orchestration.jafgen_import import JafgenImportError, import_jafgen

    try:
        summary = import_jafgen(source_dir, landing_dir(), prefix=prefix)
    except JafgenImportError as error:
        raise click.ClickException(str(error)) from None
    click.echo(
        f"landed {summary.batches} batches, {summary.rows:,} rows, "
        f"{summary.first_date} to {summary.last_date} -> {landing_dir()}"
    )
    if summary.orphan_items:
        click.echo(f"warning: {summary.orphan_items} items had no order and went to the first batch", err=True)


@main.command()
@click.option("--start", callback=_parse_date, help="First batch date of the window (inclusive).")
@click.option("--end", callback=_parse_date, help="End of the window (exclusive).")
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.option("--select", help="dbt selection, e.g. 'modeled' or 'fct_orders+'.")
@click.option("--verbose", "-v", is_flag=True, help="Show dbt's own log lines (on stderr) besides the progress.")
def build(start, end, full_refresh, select, verbose) -> None:
    """Land and build the window's assets through all four layers (a Dagster run in this process)."""
    if select:
        # dbt selection syntax needs dbt-core's selection engine in this process, which
        # orchestration/dagster_dbt_api.py leaves out unless dagster-dbt was imported before it.
        import dagster_dbt  # noqa: F401, TID251
    from orchestration.dbt_standby import DbtStandby

    # Started before the rest is loaded: dbt's imports run while this process loads Dagster.
    dbt_standby = DbtStandby.start()
    try:
        _build(start, end, full_refresh, select, verbose)
    finally:
        dbt_standby.discard()


def _build(start, end, full_refresh, select, verbose) -> None:
    from orchestration.build import build as run_build
    from orchestration.build_summary import format_summary
    from orchestration.dbt_invoke import Window
    from orchestration.landing import LandingError

    try:
        window = Window(start, end)
        report = run_build(
            strata_home(),
            window,
            full_refresh=full_refresh,
            select=select,
            echo=lambda line: click.echo(line, err=True),
            dbt_output=sys.stderr if verbose else None,
        )
    except (LandingError, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if report.summary:
        click.echo(format_summary(report.summary))
    for error in report.errors:
        click.echo(f"error: {error}", err=True)
    if not report.success:
        click.echo(f"build failed (Dagster run {report.run_id})", err=True)
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface the web UI listens on.")
@click.option("--port", default=3000, show_default=True, type=click.IntRange(1, 65535), help="Port of the web UI.")
def ui(host, port) -> None:
    """Start the Dagster UI and daemon (`dagster dev`) on this data home's instance."""
    import os
    import signal

    from orchestration.dagster_home import DAGSTER_ENVIRONMENT, dagster_home
    from orchestration.settings import PROJECT_DIR

    env = {**DAGSTER_ENVIRONMENT, **os.environ, "DAGSTER_HOME": str(dagster_home()), "STRATA_HOME": str(strata_home())}
    dagster = str(Path(sys.executable).with_name("dagster"))
    os.chdir(PROJECT_DIR)
    # dagster dev stops on SIGINT and routes SIGTERM to the same handler; a shell's background job
    # inherits SIGINT as ignored, which would make both signals no-ops. Exec keeps "ignored", so
    # give dagster the default back.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execve(dagster, [dagster, "dev", "--host", host, "--port", str(port)], env)


@main.command()
@click.option(
    "--output",
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory for index.html and its PNGs (default: $STRATA_HOME/report).",
)
def report(output: Path | None) -> None:
    """Write an HTML report of build times, row counts and regression flags from the build history."""
    from orchestration.observability.report import write_report
    from orchestration.observability.store import StoreError, default_store_path

    try:
        index = write_report(default_store_path(), output or strata_home() / "report")
    except StoreError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"report written to {index}")


@main.command()
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="HTML file to write (default: $STRATA_HOME/docs/index.html).",
)
def docs(output) -> None:
    """Build the dbt docs as one self-contained page (opens from disk, no network) and print its path."""
    from orchestration.docs_site import DocsSiteError, build_docs_site

    try:
        page = build_docs_site(strata_home(), output, echo=lambda line: click.echo(line, err=True))
    except DocsSiteError as error:
        raise click.ClickException(str(error)) from None
    click.echo(page)


@main.command()
@click.option(
    "--state",
    "state_dir",
    required=True,
    type=click.Path(path_type=Path),
    help="Directory with the base branch's manifest.json (e.g. $STRATA_HOME/target of its build).",
)
@click.option(
    "--project-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="dbt project to build (default: this repository).",
)
def ci(state_dir: Path, project_dir: Path | None) -> None:
    """Slim CI: build only changed models and their children (state:modified+, deferring to --state)."""
    from orchestration.settings import PROJECT_DIR
    from orchestration.slim_ci import SlimCiError, slim_build

    try:
        result = slim_build(state_dir, strata_home(), project_dir or PROJECT_DIR)
    except SlimCiError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"slim CI: dbt executed {len(result.built)} nodes; artifacts in {result.target_dir}")
    if not result.success:
        sys.exit(result.returncode)


def run() -> None:
    """The `strata` console script: the commands above, without Python's teardown at exit
    (orchestration/process_exit.py), with the collector tuned for a batch process."""
    from orchestration.garbage_collection import tune_for_batch_process
    from orchestration.process_exit import run_then_exit

    tune_for_batch_process()
    run_then_exit(main)


if __name__ == "__main__":
    run()
