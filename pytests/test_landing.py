"""The landing contract: atomic batches, manifests, and detection of damaged files."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import yaml

from orchestration.landing import (
    ENTITY_COLUMNS,
    ENTITY_FILES,
    MANIFEST_NAME,
    REFERENCE_ENTITIES,
    BatchWriter,
    LandingError,
    file_stats,
    iter_batches,
    verify_batch,
)
from orchestration.settings import PROJECT_DIR

DAY = dt.date(2024, 3, 1)
CSV = "id,name\n1,a\n2,b\n"


def land(landing, text=CSV, entity="customers", day=DAY):
    with BatchWriter(landing, entity, day, producer="test") as batch:
        batch.path_for("customers.csv").write_text(text)
        batch.noise = {"duplicates": 1}
    return next(b for b in iter_batches(landing) if b.entity == entity and b.batch_date == day)


def test_a_batch_appears_whole_with_a_manifest_of_rows_bytes_and_checksum(tmp_path):
    batch = land(tmp_path)
    manifest = json.loads((batch.path / MANIFEST_NAME).read_text())
    assert manifest["files"] == [
        {"name": "customers.csv", "rows": 2, "bytes": len(CSV), "sha256": manifest["files"][0]["sha256"]}
    ]
    assert manifest["noise"] == {"duplicates": 1}
    assert verify_batch(batch) == []
    assert [p.name for p in (tmp_path / "customers").iterdir()] == [DAY.isoformat()]


def test_a_failed_write_leaves_the_previous_batch_untouched(tmp_path):
    land(tmp_path)
    with pytest.raises(RuntimeError), BatchWriter(tmp_path, "customers", DAY, producer="test") as batch:
        batch.path_for("customers.csv").write_text("id,name\n9,z\n")
        raise RuntimeError("producer died")
    assert (tmp_path / "customers" / DAY.isoformat() / "customers.csv").read_text() == CSV
    assert [p.name for p in (tmp_path / "customers").iterdir()] == [DAY.isoformat()]


def test_relanding_swaps_the_batch(tmp_path):
    land(tmp_path)
    batch = land(tmp_path, text="id,name\n3,c\n")
    assert (batch.path / "customers.csv").read_text() == "id,name\n3,c\n"
    assert json.loads((batch.path / MANIFEST_NAME).read_text())["files"][0]["rows"] == 1


def test_a_truncated_file_is_named(tmp_path):
    batch = land(tmp_path)
    (batch.path / "customers.csv").write_text(CSV[:-4])
    [problem] = verify_batch(batch)
    assert str(batch.path / "customers.csv") in problem and "truncated" in problem


def test_a_file_changed_in_place_is_caught_by_its_checksum(tmp_path):
    batch = land(tmp_path)
    (batch.path / "customers.csv").write_text(CSV.replace("a", "x"))
    [problem] = verify_batch(batch)
    assert "checksum" in problem


def test_a_batch_checked_twice_is_read_once_unless_a_file_changed_in_between(tmp_path, monkeypatch):
    """The landing step and the dbt step of one run both check the window's batches."""
    import os

    import orchestration.landing as landing

    batch = land(tmp_path)
    data = batch.path / "customers.csv"
    reads = []
    monkeypatch.setattr(landing, "file_stats", lambda path, header: reads.append(path) or file_stats(path, header))
    assert verify_batch(batch) == [] and verify_batch(batch) == []
    assert reads == [data]
    # Same size, same modification time: only the content and the change time differ.
    status = data.stat()
    data.write_text(CSV.replace("a", "x"))
    os.utime(data, ns=(status.st_atime_ns, status.st_mtime_ns))
    [problem] = verify_batch(batch)
    assert "checksum" in problem and reads == [data, data]


def test_a_batch_without_manifest_is_reported_as_still_landing(tmp_path):
    (tmp_path / "orders" / "2024-03-02").mkdir(parents=True)
    [batch] = iter_batches(tmp_path)
    [problem] = verify_batch(batch)
    assert "no _manifest.json" in problem


def test_window_bounds_are_half_open(tmp_path):
    for offset in range(3):
        land(tmp_path, day=DAY + dt.timedelta(days=offset))
    dates = [b.batch_date for b in iter_batches(tmp_path, DAY, DAY + dt.timedelta(days=2))]
    assert dates == [DAY, DAY + dt.timedelta(days=1)]


def test_unknown_entity_and_missing_landing_are_refused(tmp_path):
    with pytest.raises(LandingError, match="unknown entity 'widgets'"):
        BatchWriter(tmp_path, "widgets", DAY, producer="test")
    with pytest.raises(LandingError, match="landing directory not found"):
        list(iter_batches(tmp_path / "missing"))


def test_the_dbt_sources_declare_the_landing_contract():
    sources = yaml.safe_load((PROJECT_DIR / "models" / "raw" / "__sources.yml").read_text())
    [landing] = [source for source in sources["sources"] if source["name"] == "landing"]
    declared = {
        table["name"]: (table["meta"]["landing_file"], tuple(column["name"] for column in table["columns"]))
        for table in landing["tables"]
    }
    assert declared == {entity: (ENTITY_FILES[entity], ENTITY_COLUMNS[entity]) for entity in ENTITY_FILES}
    read_through_window_end = {
        table["name"] for table in landing["tables"] if table["meta"].get("read") == "through_window_end"
    }
    assert read_through_window_end == REFERENCE_ENTITIES


@pytest.mark.parametrize("size", [0, 1, 5, (1 << 18) - 1, 1 << 18, (1 << 18) + 1, (5 << 20) + 3])
@pytest.mark.parametrize("trailing_newline", [True, False])
def test_file_stats_counts_like_a_plain_read(tmp_path, size, trailing_newline):
    """Reading in reused chunks gives what a plain read gives, with or without a final newline,
    at and around the chunk size."""
    data = bytearray((b"abc,def\n" * (size // 8 + 1))[:size])
    if size and not trailing_newline:
        data[-1:] = b"x"
    path = tmp_path / "f.csv"
    path.write_bytes(bytes(data))
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    for header in (0, 1):
        stats = file_stats(path, header)
        assert (stats.rows, stats.bytes, stats.sha256) == (
            max(lines - header, 0),
            size,
            hashlib.sha256(bytes(data)).hexdigest(),
        )
