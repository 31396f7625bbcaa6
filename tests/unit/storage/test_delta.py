"""Exactly-once Delta appends, UTC-microsecond timestamps, schema and protocol guards."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from lakehouse.storage import SchemaConflict, append_files_once, append_once, read_table
from lakehouse.storage.faults import ENV


def frame(n: int = 2, **extra) -> pl.DataFrame:
    return pl.DataFrame({"a": list(range(n)),
                         "t": [datetime(2026, 1, 1, tzinfo=UTC)] * n, **extra})


def test_append_once_skips_a_committed_app_id(tmp_path):
    uri = str(tmp_path / "t")
    assert append_once(uri, frame(), "file-1") is True
    version = DeltaTable(uri).version()
    assert append_once(uri, frame(), "file-1") is False
    assert DeltaTable(uri).version() == version
    assert read_table(uri).height == 2


def test_several_app_ids_commit_together_and_parts_are_skipped(tmp_path):
    uri = str(tmp_path / "t")
    assert append_files_once(uri, [(["f1"], frame(1)), (["f2"], frame(2))]) == ["f1", "f2"]
    dt = DeltaTable(uri)
    assert dt.transaction_version("f1") == 1 and dt.transaction_version("f2") == 1
    assert dt.version() == 1  # create + one commit for both files
    assert append_files_once(uri, [(["f1"], frame(1)), (["f3"], frame(3))]) == ["f3"]
    assert read_table(uri).height == 6


def test_an_empty_part_still_records_its_app_id(tmp_path):
    uri = str(tmp_path / "t")
    append_once(uri, frame(0), "empty-file")
    assert DeltaTable(uri).transaction_version("empty-file") == 1
    assert append_once(uri, frame(0), "empty-file") is False


def test_partly_committed_app_ids_are_refused(tmp_path):
    uri = str(tmp_path / "t")
    append_once(uri, frame(), "f1")
    with pytest.raises(RuntimeError, match="partly committed"):
        append_once(uri, frame(), ["f1", "f2"])


def test_timestamps_become_utc_microseconds_and_protocol_stays(tmp_path):
    uri = str(tmp_path / "t")
    berlin = pl.DataFrame({"a": [99], "t": [datetime(2026, 1, 1, 12, tzinfo=UTC)]}).with_columns(
        pl.col("t").dt.cast_time_unit("ns").dt.convert_time_zone("Europe/Berlin"))
    append_once(uri, berlin, "f1")
    before = DeltaTable(uri).protocol()
    append_once(uri, frame(), "f2")
    append_once(uri, frame(c=["x", "y"]), "f3")  # schema evolution
    after = DeltaTable(uri).protocol()
    assert (after.min_reader_version, after.min_writer_version) == (
        before.min_reader_version, before.min_writer_version) == (1, 2)
    schema = pa.schema(DeltaTable(uri).schema().to_arrow())
    assert schema.field("t").type == pa.timestamp("us", tz="UTC")
    assert read_table(uri).filter(pl.col("a") == 99)["t"][0] == datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_naive_timestamps_are_refused(tmp_path):
    naive = pl.DataFrame({"t": [datetime(2026, 1, 1)]})
    with pytest.raises(SchemaConflict, match="naive"):
        append_once(str(tmp_path / "t"), naive, "f1")


def test_a_column_type_never_changes(tmp_path):
    uri = str(tmp_path / "t")
    append_once(uri, frame(), "f1")
    with pytest.raises(SchemaConflict, match="column 'a'"):
        append_once(uri, pl.DataFrame({"a": ["7"]}), "f2")
    assert DeltaTable(uri).transaction_version("f2") is None


def test_new_optional_column_evolves_schema_old_rows_null(tmp_path):
    uri = str(tmp_path / "t")
    append_once(uri, frame(), "f1")
    append_once(uri, frame(1, consent=["granted"]), "f2")
    out = read_table(uri)
    assert out["consent"].null_count() == 2 and out.height == 3
    append_once(uri, frame(1), "f3")  # later data without the column still fits
    assert read_table(uri).height == 4


def test_write_that_fails_after_commit_is_not_repeated(tmp_path, monkeypatch):
    uri = str(tmp_path / "t")
    append_once(uri, frame(), "f0")
    monkeypatch.setenv(ENV, "raise:after_commit")
    assert append_once(uri, frame(), "f1") is True
    assert read_table(uri).height == 4  # committed once, the retry saw it and stopped
    assert DeltaTable(uri).transaction_version("f1") == 1


def test_write_that_fails_before_commit_is_retried(tmp_path, monkeypatch):
    uri = str(tmp_path / "t")
    append_once(uri, frame(), "f0")
    monkeypatch.setenv(ENV, "raise:before_commit")
    assert append_once(uri, frame(), "f1") is True
    assert read_table(uri).height == 4


def test_a_streamed_frame_writes_the_table_a_whole_one_does(tmp_path):
    from deltalake import write_deltalake

    from lakehouse.storage.delta import to_arrow, to_arrow_stream

    n = 1_000
    frame = pl.DataFrame({
        "id": [f"e{i}" for i in range(n)],
        "day": pl.date_range(datetime(2026, 1, 1).date(), datetime(2026, 1, 10).date(),
                             eager=True).sample(n, with_replacement=True, seed=1),
        "at": pl.Series([datetime(2026, 1, 1, tzinfo=UTC)] * n).dt.cast_time_unit("ns"),
        "tags": [["a", "b"]] * n,
    })
    stream = to_arrow_stream(frame, rows=64)  # 16 slices
    assert isinstance(stream, pa.RecordBatchReader)
    assert stream.schema == to_arrow(frame).schema  # plain strings, UTC microseconds
    whole, sliced = str(tmp_path / "whole"), str(tmp_path / "sliced")
    write_deltalake(whole, to_arrow(frame), partition_by=["day"])
    write_deltalake(sliced, stream, partition_by=["day"])
    assert DeltaTable(sliced).version() == 0  # one commit
    read = [pl.read_delta(u).sort("id") for u in (whole, sliced)]
    assert read[0].equals(read[1]) and read[1].height == n
    assert len(DeltaTable(sliced).file_uris()) == len(DeltaTable(whole).file_uris())
    assert isinstance(to_arrow_stream(frame.head(64), rows=64), pa.Table)  # small: at once


def test_picked_rows_stream_as_the_filtered_frame_then_the_tail(tmp_path):
    """``Picked``: a writer filters the frame a slice at a time, then adds the tail; the table
    holds exactly the rows ``frame.filter(keep)`` and ``tail`` give, in one commit."""
    from deltalake import write_deltalake

    from lakehouse.storage.delta import Picked, to_arrow_stream

    n = 1_000
    rows = pl.DataFrame({"id": [f"e{i}" for i in range(n)], "v": list(range(n))})
    keep = pl.Series([i % 3 != 0 for i in range(n)])
    tail = pl.DataFrame({"id": ["t1", "t2"], "v": [-1, -2]})
    picked = Picked(rows, keep, tail)
    expected = pl.concat([rows.filter(keep), tail])
    assert picked.height == expected.height == 668
    assert picked.collect().equals(expected)
    write_deltalake(str(tmp_path / "t"), to_arrow_stream(picked, rows=64))
    assert DeltaTable(str(tmp_path / "t")).version() == 0
    assert pl.read_delta(str(tmp_path / "t")).sort("id").equals(expected.sort("id"))
    assert Picked(rows).collect() is rows  # nothing filtered: no copy
    assert Picked(rows.clear(), None, tail).collect().equals(tail)
