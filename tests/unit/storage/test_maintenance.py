"""Table maintenance: compaction keeps rows and time travel, vacuum honours the retention window,
and every file the lake writes, compacted ones included, uses the one codec."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from lakehouse.storage import append_once
from lakehouse.storage.delta import CODEC
from lakehouse.storage.maintenance import maintain


def small_appends(uri: str, n: int = 5) -> None:
    for i in range(n):
        append_once(uri, pl.DataFrame({"id": [f"e{i}-{k}" for k in range(3)], "batch": [i] * 3}),
                    f"file-{i}")


def codecs(uri: str) -> set[str]:
    return {pq.ParquetFile(f.removeprefix("file://")).metadata.row_group(0).column(0)
            .compression for f in DeltaTable(uri).file_uris()}


def rows(dt: DeltaTable) -> pl.DataFrame:
    return pl.from_arrow(dt.to_pyarrow_table()).sort("id")


def test_compaction_keeps_rows_app_ids_and_time_travel(tmp_path):
    uri = str(tmp_path / "t")
    small_appends(uri)
    assert codecs(uri) == {"LZ4"}
    before = rows(DeltaTable(uri))
    report = maintain(uri)
    assert (report.files_before, report.files_after) == (5, 1)
    assert report.version_after == report.version_before + 1
    assert report.files_vacuumed == 0  # the old files are inside the 7-day window
    dt = DeltaTable(uri)
    assert rows(dt).equals(before)
    assert dt.transaction_version("file-3") == 1  # exactly-once still holds after compaction
    assert list((Path(uri) / "_delta_log").glob("*.checkpoint.parquet"))
    assert rows(DeltaTable(uri, version=3)).height == 9  # version 0 creates: 3 appends
    assert CODEC == "LZ4_RAW" and codecs(uri) == {"LZ4"}  # pyarrow names LZ4_RAW "LZ4"


def test_vacuum_removes_old_files_only_inside_an_allowed_short_window(tmp_path):
    uri = str(tmp_path / "t")
    small_appends(uri, 3)
    with pytest.raises(Exception, match="retention"):
        maintain(uri, retention_hours=0)  # shorter than the table's window: refused
    report = maintain(uri, retention_hours=0, allow_short_retention=True)
    assert report.files_vacuumed == 3
    assert rows(DeltaTable(uri)).height == 9
    with pytest.raises(Exception):  # noqa: B017 - deltalake raises its own error kinds
        DeltaTable(uri, version=1).to_pyarrow_table()


def test_maintaining_a_compact_table_adds_no_files(tmp_path):
    uri = str(tmp_path / "t")
    small_appends(uri, 1)
    report = maintain(uri)
    assert (report.files_added, report.files_removed, report.files_after) == (0, 0, 1)
    assert report.version_after == report.version_before


def test_only_file_rewrites_count_as_data_unchanged(tmp_path):
    from lakehouse.storage.maintenance import data_unchanged

    uri = str(tmp_path / "t")
    small_appends(uri, 3)
    maintain(uri)  # a compaction: the rows of version 3 (the last append) are unchanged
    assert data_unchanged(DeltaTable(uri), 3)
    assert not data_unchanged(DeltaTable(uri), 2)  # version 3 appended rows after 2
    append_once(uri, pl.DataFrame({"id": ["late"], "batch": [9]}), "file-late")
    assert not data_unchanged(DeltaTable(uri), 3)


def test_vacuum_keeps_every_file_of_the_validated_pin(tmp_path):
    uri = str(tmp_path / "t")
    small_appends(uri, 3)
    pinned = rows(DeltaTable(uri, version=1))
    maintain(uri)  # compacts: the files of version 1 are removed from the latest snapshot
    # a zero-hour window would delete them, but version 1 is the pin: they stay readable
    maintain(uri, retention_hours=0, allow_short_retention=True, keep_version=1)
    assert rows(DeltaTable(uri, version=1)).equals(pinned)
    maintain(uri, retention_hours=0, allow_short_retention=True)
    with pytest.raises(Exception):  # noqa: B017 (deltalake raises its own I/O errors)
        rows(DeltaTable(uri, version=1))
