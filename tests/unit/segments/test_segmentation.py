"""segment_customers end to end on planted behaviour groups: the groups are found, named for
what they do, and the output is deterministic and shaped as documented."""

from __future__ import annotations

import polars as pl
import pytest

from lakehouse.segments import MEMBER_COLUMNS, NO_PURCHASE, segment_customers
from tests.unit.segments.planted import AS_OF, GROUPS, planted_features

EXPECTED = {"dormant": "Dormant prospects", "browsers": "Browsers, not buyers",
            "store": "Store regulars", "vip": "High-value omnichannel", "lapsed": "Lapsed"}


@pytest.fixture(scope="module")
def planted() -> pl.DataFrame:
    return planted_features(seed=0)


@pytest.fixture(scope="module")
def segmented(planted):
    return segment_customers(planted.drop("group"), AS_OF)


def test_planted_groups_are_found_and_named_for_their_behaviour(planted, segmented):
    assert segmented.k == len(GROUPS)  # chosen by silhouette among 3..8
    assert segmented.silhouettes[segmented.k] == max(segmented.silhouettes.values())
    found = (segmented.members.join(planted.select("person_id", "group"), on="person_id")
             .group_by("group").agg(pl.col("cluster_name").unique()))
    assert dict(found.rows()) == {
        g: [name] for g, name in EXPECTED.items()}


def test_members_and_profiles_have_the_documented_shape(planted, segmented):
    m, p = segmented.members, segmented.profiles
    assert m.columns == list(MEMBER_COLUMNS)
    assert m.height == planted.height and m["person_id"].n_unique() == m.height
    assert m.schema["cluster"] == pl.Int32 and m.schema["r_score"] == pl.Int8
    assert m["as_of"].unique().to_list() == [AS_OF]
    assert p["persons"].sum() == m.height and abs(p["share"].sum() - 1.0) < 1e-9
    assert p["cluster_name"].n_unique() == p.height
    assert p["persons"].to_list() == sorted(p["persons"], reverse=True)  # 0 = largest
    assert {"description", "buyer_share", "monetary", "share_store"} <= set(p.columns)
    never = m.filter(pl.col("frequency") == 0)
    assert set(never["rfm_segment"]) == {NO_PURCHASE} and set(never["rfm_score"]) == {"000"}


def test_same_features_any_row_order_same_segments(planted, segmented):
    again = segment_customers(planted.drop("group").sample(fraction=1.0, shuffle=True, seed=9),
                              AS_OF)
    assert again.members.equals(segmented.members)
    assert again.profiles.equals(segmented.profiles)


def test_names_follow_behaviour_not_seed(planted, segmented):
    other = segment_customers(planted.drop("group"), AS_OF, seed=11)
    pairs = segmented.members.join(other.members, on="person_id").select(
        "cluster_name", "cluster_name_right")
    assert (pairs["cluster_name"] == pairs["cluster_name_right"]).all()


def test_a_fixed_k_and_bad_input(planted):
    seg = segment_customers(planted.drop("group"), AS_OF, k=3)
    assert seg.k == 3 and seg.profiles.height == 3
    assert list(seg.silhouettes) == [3]
    with pytest.raises(ValueError, match="empty"):
        segment_customers(planted.clear(), AS_OF)
    with pytest.raises(ValueError, match="one row per person_id"):
        segment_customers(pl.concat([planted, planted.head(1)]), AS_OF)


def test_nothing_to_cluster_on_is_a_clear_error(planted):
    same = planted.head(10).with_columns(pl.lit(1).alias("frequency"),
                                         pl.lit(5.0).alias("recency_days"))
    constant = same.select("person_id", "as_of", "frequency", "recency_days")
    with pytest.raises(ValueError, match="no feature varies"):
        segment_customers(constant, AS_OF)
