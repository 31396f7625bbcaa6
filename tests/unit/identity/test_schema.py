"""``schema.conform``: the record contract, and one conformed frame per records frame."""

from __future__ import annotations

import gc

import polars as pl
import pytest

from lakehouse.identity import schema
from lakehouse.identity.schema import conform


def _records() -> pl.DataFrame:
    return pl.DataFrame({"source": ["shop", "pos", "shop"], "record_id": ["b", "a", "a"],
                         "first_name": ["Ann", None, "Bo"], "email": ["a@x.io", None, None]})


def test_the_same_records_are_conformed_once_and_anything_else_anew() -> None:
    records = _records()
    first = conform(records)
    assert conform(records) is first  # resolution, map and profiles share it
    assert first["_i"].to_list() == [0, 1, 2] and first["source"].to_list() == [
        "pos", "shop", "shop"]
    changed = records.with_columns(pl.col("first_name").fill_null("Cy"))
    assert conform(changed) is not first
    assert conform(changed)["first_name"].to_list() == ["Cy", "Bo", "Ann"]


def test_a_conformed_frame_is_forgotten_with_its_records() -> None:
    records = _records()
    key = id(records)
    conform(records)
    assert key in schema._CONFORMED
    del records
    gc.collect()
    assert key not in schema._CONFORMED


def test_a_repeated_record_is_refused_every_time() -> None:
    twice = pl.concat([_records(), _records().head(1)])
    for _ in range(2):
        with pytest.raises(ValueError, match="repeat"):
            conform(twice)
