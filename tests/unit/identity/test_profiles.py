"""Households in the gold identity tables (profiles and the identity map), on hand-made
frames: each test names the behaviour it pins."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.identity.profiles import customer_profiles, identity_map, most_common

KEY = b"test-key"


def _records(n: int) -> pl.DataFrame:
    return pl.DataFrame({"source": ["shop"] * n, "record_id": [f"r{k}" for k in range(n)],
                         "first_name": ["Ann"] * n, "last_name": ["Lee"] * n,
                         "email": [f"ann{k}@x.com" for k in range(n)]})


def _resolved(persons: list[str], households: list[str]) -> pl.DataFrame:
    n = len(persons)
    return pl.DataFrame({"source": ["shop"] * n, "record_id": [f"r{k}" for k in range(n)],
                         "person_id": persons, "household_id": households,
                         "match_probability": [1.0] * n, "matched_by": ["email"] * n})


def test_a_profile_takes_the_household_most_of_its_records_are_in() -> None:
    resolved = _resolved(["P1", "P1", "P1", "P2", "P2"],
                         ["Hb", "Ha", "Hb", "Hd", "Hc"])  # P2: a tie, to the smallest id
    prof = customer_profiles(_records(5), resolved, KEY)
    assert dict(zip(prof["person_id"], prof["household_id"], strict=True)) == {"P1": "Hb",
                                                                                "P2": "Hc"}


def test_every_identity_map_row_carries_its_records_household() -> None:
    resolved = _resolved(["P1", "P2", "P3"], ["Ha", "Ha", "Hb"])
    imap = identity_map(resolved, _records(3), KEY)
    assert set(imap["identifier_type"]) == {"record", "email"}
    per_person = imap.group_by("person_id").agg(pl.col("household_id").unique()).sort(
        "person_id")
    assert per_person["household_id"].to_list() == [["Ha"], ["Ha"], ["Hb"]]
    assert imap.height == 6 and imap["household_id"].null_count() == 0


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["P1", "P2", "P3", "P4"]),
                          st.one_of(st.none(), st.sampled_from(["b", "a", "c", "ab", ""]))),
                max_size=40))
def test_most_common_is_the_mode_with_ties_to_the_smallest_and_nulls_ignored(
        rows: list[tuple[str, str | None]]) -> None:
    frame = pl.DataFrame(rows, schema={"person_id": pl.String, "city": pl.String},
                         orient="row")
    got = most_common(frame, "person_id", "city", "best")
    # the definition it replaces: a per-group mode, sorted, first
    want = (frame.group_by("person_id").agg(
        pl.col("city").drop_nulls().mode().sort().first().alias("best"))
        .filter(pl.col("best").is_not_null()))
    assert dict(zip(got["person_id"], got["best"], strict=True)) == dict(
        zip(want["person_id"], want["best"], strict=True))
    assert got["person_id"].is_unique().all()


def test_a_person_whose_values_are_all_null_has_a_null_profile_field() -> None:
    records = _records(3).with_columns(pl.Series("city", ["Leeds", None, None]))
    prof = customer_profiles(records, _resolved(["P1", "P1", "P2"], ["Ha", "Ha", "Hb"]), KEY)
    assert dict(zip(prof["person_id"], prof["city"], strict=True)) == {"P1": "Leeds",
                                                                        "P2": None}
    assert prof.columns[:3] == ["person_id", "household_id", "city"]  # the order it had
