"""Segments published from a real small simulated lake: both gold tables written, one row
per resolved person, only validated feature versions read, no raw PII, reproducible."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ml import training_set
from lakehouse.segments import MEMBER_COLUMNS, MEMBERS, PROFILES, publish_segments
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import record_validation
from tests.gated import private_copy

AS_OF = datetime(2026, 1, 13, tzinfo=UTC)  # the simulation runs Jan 1 - Jan 12
PII = re.compile(r"@|\+\d{6,}|\d{3}[- ]\d{3}[- ]\d{4}")


def read_table(uri: str, version: int | None = None) -> pl.DataFrame:
    return pl.from_arrow(DeltaTable(uri, version=version).to_pyarrow_table())


@pytest.fixture
def home(small_retailer, tmp_path) -> Home:
    """A private copy of the small retailer: tests write to its tables."""
    return private_copy(small_retailer, tmp_path)


def test_publish_writes_one_row_per_person_and_the_profiles(home):
    out = publish_segments(home, as_of=AS_OF)
    members = read_table(out[MEMBERS]["uri"])
    profiles = read_table(out[PROFILES]["uri"])
    persons = read_table(str(home.lake / "gold" / "identity_map"))["person_id"].unique()
    assert members.columns == list(MEMBER_COLUMNS)
    assert sorted(members["person_id"]) == sorted(persons)
    assert out[MEMBERS]["rows"] == members.height and out[PROFILES]["rows"] == profiles.height
    assert 3 <= out["k"] <= 8 and profiles.height == out["k"]
    assert -1.0 <= out["silhouette"] <= 1.0 and out["silhouette"] == max(
        out["silhouettes"].values())
    assert profiles["persons"].sum() == members.height
    for name, frame in ((MEMBERS, members), (PROFILES, profiles)):  # every column documented
        assert list(out[name]["columns"]) == frame.columns and all(out[name]["columns"].values())
    assert set(members["cluster_name"]) == set(profiles["cluster_name"])
    assert members["as_of"].unique().to_list() == [AS_OF]
    buyers = members.filter(pl.col("frequency") > 0)
    assert buyers.height > 0 and buyers["r_score"].is_between(1, 5).all()


def test_no_raw_pii_in_either_table(home):
    out = publish_segments(home, as_of=AS_OF)
    truth = pl.read_parquet(home.truth / "persons.parquet")
    raw = set(truth["email"]) | set(truth["phone"]) | set(truth["last_name"])
    for name in (MEMBERS, PROFILES):
        frame = read_table(out[name]["uri"])
        for col, dtype in frame.schema.items():
            if dtype == pl.String:
                assert not frame[col].str.contains(PII.pattern).any(), (name, col)
                assert not set(frame[col]) & raw, (name, col)
    assert read_table(out[MEMBERS]["uri"])["person_id"].str.starts_with("P").all()


def test_only_the_validated_feature_mart_is_read(home):
    uri = table_uri(home, "gold", "ml_customer_features")
    mart = training_set("customer", as_of=AS_OF, home=home).frame
    replace_table(uri, mart)
    record_validation(uri, DeltaTable(uri).version(), "test.ml_customer_features", mart.height)
    validated = publish_segments(home)
    # a later commit that was never checked: spend inflated a thousandfold
    replace_table(uri, mart.with_columns(pl.col("monetary") * 1000))
    again = publish_segments(home)
    first = read_table(validated[MEMBERS]["uri"], version=validated[MEMBERS]["version"])
    second = read_table(again[MEMBERS]["uri"])
    assert first["as_of"].unique().to_list() == [AS_OF]  # the mart's cutoff, not "now"
    assert second.equals(first)
    assert second["monetary"].max() == mart["monetary"].max()


def test_republishing_gives_the_same_segments(home):
    a = publish_segments(home, as_of=AS_OF)
    b = publish_segments(home, as_of=AS_OF)
    assert b[MEMBERS]["version"] == a[MEMBERS]["version"] + 1
    assert read_table(a[MEMBERS]["uri"], version=a[MEMBERS]["version"]).equals(
        read_table(b[MEMBERS]["uri"]))
    assert read_table(a[PROFILES]["uri"], version=a[PROFILES]["version"]).equals(
        read_table(b[PROFILES]["uri"]))
