"""Bad input gets a one-line error and a non-zero exit, and writes nothing."""

from __future__ import annotations

from pytests.conftest import run_strata


def test_an_unknown_option_is_named(tmp_path):
    result = run_strata(tmp_path, "generate", "--start", "2024-01-01", "--days", "1", "--bogus")
    assert result.returncode == 2
    assert "No such option '--bogus'" in result.stderr
    assert not (tmp_path / "landing").exists()


def test_a_bad_date_is_named(tmp_path):
    result = run_strata(tmp_path, "generate", "--start", "2024-13-01", "--days", "1")
    assert result.returncode == 2
    assert "'2024-13-01' is not a date" in result.stderr


def test_a_non_positive_day_count_is_refused(tmp_path):
    result = run_strata(tmp_path, "generate", "--start", "2024-01-01", "--days", "0")
    assert result.returncode == 2
    assert "--days" in result.stderr


def test_build_without_landing_data_says_where_it_looked(tmp_path):
    result = run_strata(tmp_path, "build")
    assert result.returncode == 1
    assert f"landing directory not found: {tmp_path / 'landing'}" in result.stderr
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_build_refuses_an_empty_window(tmp_path):
    (tmp_path / "landing").mkdir()
    result = run_strata(tmp_path, "build", "--start", "2024-01-05", "--end", "2024-01-05")
    assert result.returncode == 1
    assert "must be before end" in result.stderr


def test_import_jafgen_from_a_missing_directory_names_it(tmp_path):
    missing = tmp_path / "nowhere"
    result = run_strata(tmp_path, "import-jafgen", str(missing))
    assert result.returncode == 1
    assert str(missing) in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "landing").exists()


def test_import_jafgen_from_a_directory_without_its_files_names_what_is_missing(tmp_path):
    source = tmp_path / "jaffle-data"
    source.mkdir()
    (source / "raw_orders.csv").write_text("id,customer,ordered_at,store_id,subtotal,tax_paid,order_total\n")
    result = run_strata(tmp_path, "import-jafgen", str(source))
    assert result.returncode == 1
    assert "raw_customers.csv" in result.stderr or "customers" in result.stderr
    assert not (tmp_path / "landing").exists()
