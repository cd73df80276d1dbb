"""`strata docs`: the dbt docs site, built on a real warehouse and opened from disk in Chromium."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from orchestration.docs_site import REPORT_LINK, _point_report_link
from pytests.conftest import query, run_strata

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]
needs_chromium = pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK), reason=f"{CHROMIUM} is missing: run scripts/install_chromium.sh"
)
# The tests on the built home share one worker (it builds the home once); the others run anywhere.
on_docs_home = pytest.mark.xdist_group("docs_home")


@pytest.fixture(scope="module")
def docs_home(tmp_path_factory) -> Path:
    """A data home with two small days built through all four layers, and `strata docs` run on it."""
    from orchestration.dbt_invoke import invoke_dbt

    home = tmp_path_factory.mktemp("docs_home")
    landed = run_strata(home, "generate", "--start", "2024-01-01", "--days", "2", "--orders-per-day", "50")
    assert landed.returncode == 0, landed.output
    # dbt directly rather than `strata build`: the same models and warehouse in 12 s instead of
    # 70 s of Dagster bookkeeping and 256 data tests, which other test modules cover.
    built = invoke_dbt(["build", "--exclude-resource-type", "test", "unit_test"], home=home)
    assert built.success, built.error
    docs = run_strata(home, "docs")
    assert docs.returncode == 0, docs.output
    assert docs.stdout.strip() == str(home / "docs" / "index.html")
    return home


def manifest_node(home: Path, unique_id: str) -> dict:
    return json.loads((home / "target_docs" / "manifest.json").read_text())["nodes"][unique_id]


def catalog_node(home: Path, unique_id: str) -> dict:
    return json.loads((home / "target_docs" / "catalog.json").read_text())["nodes"][unique_id]


def words(text: str) -> str:
    """Text with markdown code marks dropped and whitespace collapsed, as the page renders it."""
    return re.sub(r"\s+", " ", text.replace("`", "")).strip()


@needs_chromium
@on_docs_home
def test_the_site_opens_from_disk_with_overview_and_model_pages_and_no_errors(docs_home):
    from playwright.sync_api import sync_playwright

    page_path = docs_home / "docs" / "index.html"
    errors: list[str] = []
    remote_requests: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
            page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
            page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))
            page.on(
                "request",
                lambda request: request.url.startswith(("file:", "data:")) or remote_requests.append(request.url),
            )

            page.goto(page_path.as_uri())
            overview = page.locator(".app-details").first
            overview.get_by_text("The four layers").wait_for()
            overview_text = words(overview.inner_text())
            assert "Only modeled is a public data product" in overview_text
            assert "Naming contract" in overview_text and "docs/checks.md" in overview_text
            assert "Reading the lineage graph" in overview_text
            report_href = overview.get_by_role("link", name="observability report").get_attribute("href")
            assert (page_path.parent / report_href).resolve() == docs_home / "report" / "index.html"

            model = manifest_node(docs_home, "model.strata.fct_orders")
            catalog = catalog_node(docs_home, "model.strata.fct_orders")
            page.goto(f"{page_path.as_uri()}#!/model/model.strata.fct_orders")
            details = page.locator(".app-details").first
            details.get_by_text("Columns", exact=True).first.wait_for()
            page.locator("column-details").get_by_text(list(model["columns"])[-1], exact=True).wait_for()
            model_text = words(details.inner_text())
            assert words(model["description"]) in model_text
            for name, column in catalog["columns"].items():
                assert f"{name} {column['type']}" in model_text, f"column {name} ({column['type']}) not shown"
            for name, column in model["columns"].items():
                assert words(column["description"]) in model_text, f"description of {name} not shown"
            rows = query(docs_home, "select count(*) from modeled.fct_orders")[0][0]
            assert rows > 0
            assert re.search(rf"row count\s+{rows}\b", model_text, re.IGNORECASE), "row count not shown"

            # The lineage panel draws the graph (cytoscape) from the inlined manifest.
            page.locator("[title='View Lineage Graph']").click()
            page.get_by_text("Lineage Graph", exact=True).wait_for()
            assert page.locator("canvas").count() > 0

            page.goto(f"{page_path.as_uri()}#!/exposure/exposure.strata.finance_sales_report")
            page.get_by_text("Finance sales report", exact=False).first.wait_for()
            assert "fct_daily_store_sales" in page.locator(".app-details").first.inner_text()
        finally:
            browser.close()
    assert not errors, f"{len(errors)} script errors, the first: {errors[:3]}"
    assert not remote_requests, f"the site must work offline, but it requested {remote_requests[:5]}"


@on_docs_home
def test_a_failing_dbt_is_reported_and_leaves_the_previous_site(docs_home):
    page_path = docs_home / "docs" / "index.html"
    before = page_path.read_bytes()
    result = run_strata(docs_home, "docs", env={"STRATA_TARGET": "no_such_target"})
    assert result.returncode == 1
    assert "`dbt docs generate` failed" in result.stderr
    assert "no_such_target" in result.stderr
    assert result.stdout == ""
    assert page_path.read_bytes() == before


def test_without_a_warehouse_the_site_is_built_from_the_project_alone(tmp_path):
    result = run_strata(tmp_path, "docs", "--output", str(tmp_path / "site" / "docs.html"))
    assert result.returncode == 0, result.output
    assert result.stdout.strip() == str(tmp_path / "site" / "docs.html")
    assert f"no warehouse at {tmp_path / 'warehouse.duckdb'}" in result.stderr
    # DuckDB creates a database file on connect; an empty one would pass for a built warehouse.
    assert not (tmp_path / "warehouse.duckdb").exists()
    page = (tmp_path / "site" / "docs.html").read_text()
    assert "fct_orders" in page and "__overview__" in page
    assert "](../report/index.html)" in page


def test_an_output_that_is_a_directory_is_refused(tmp_path):
    result = run_strata(tmp_path, "docs", "--output", str(tmp_path))
    assert result.returncode == 2
    assert "--output" in result.stderr and "is a directory" in result.stderr


def test_an_output_below_a_file_is_refused_before_dbt_runs(tmp_path):
    (tmp_path / "notes.txt").write_text("")
    result = run_strata(tmp_path, "docs", "--output", str(tmp_path / "notes.txt" / "index.html"))
    assert result.returncode == 1
    assert f"cannot write --output {tmp_path / 'notes.txt' / 'index.html'}" in result.stderr
    assert "is a file, not a directory" in result.stderr
    assert not (tmp_path / "target_docs").exists(), "dbt should not have run"


def test_the_report_link_follows_a_page_written_elsewhere(tmp_path):
    page = f'"[observability report]({REPORT_LINK})"'
    home = tmp_path / "home"
    assert _point_report_link(page, home / "docs" / "index.html", home / "report" / "index.html") == page
    moved = _point_report_link(page, tmp_path / "public" / "site" / "index.html", home / "report" / "index.html")
    assert moved == '"[observability report](../../home/report/index.html)"'
