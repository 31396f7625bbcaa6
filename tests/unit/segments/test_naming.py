"""Cluster names come from profiles relative to the population, and stay unique."""

from __future__ import annotations

from lakehouse.segments.naming import Profile, name_of, names

NEUTRAL = {"recency_days": 0.0, "frequency": 0.0, "monetary": 0.0, "avg_order_value": 0.0,
           "return_rate": 0.0, "sessions_30d": 0.0, "visit_share": 0.0,
           "email_open_rate": 0.0}


def profile(cluster=0, buyer_share=1.0, channels=None, categories=None, **effects) -> Profile:
    return Profile(cluster=cluster, persons=100, share=0.25, buyer_share=buyer_share,
                   means={"monetary": 120.0, "frequency": 2.0} | dict.fromkeys(NEUTRAL),
                   effects=NEUTRAL | effects,
                   channels=channels or {"web": 0.4, "app": 0.3, "store": 0.3},
                   categories=categories or {"affinity_toys": 0.0})


def test_rules_read_effects_not_cluster_numbers():
    assert name_of(profile(buyer_share=0.1, sessions_30d=1.2))[0] == "Browsers, not buyers"
    assert name_of(profile(buyer_share=0.1, email_open_rate=0.9))[0] == (
        "Email readers, not buyers")
    assert name_of(profile(buyer_share=0.0))[0] == "Dormant prospects"
    assert name_of(profile(monetary=1.5))[0] == "High-value omnichannel"
    assert name_of(profile(monetary=1.5, channels={"web": 0.9, "store": 0.1}))[0] == (
        "High-value loyalists")
    assert name_of(profile(monetary=1.5, recency_days=1.0))[0] == "High-value, slipping away"
    assert name_of(profile(recency_days=0.8))[0] == "Lapsed"
    assert name_of(profile(return_rate=2.0))[0] == "Serial returners"
    assert name_of(profile(avg_order_value=1.0))[0] == "Big-ticket occasional"
    assert name_of(profile(channels={"store": 0.9, "web": 0.1}))[0] == "Store regulars"
    assert name_of(profile(channels={"click_collect": 0.7, "web": 0.3}))[0] == (
        "Click collect shoppers")
    assert name_of(profile(categories={"affinity_home_garden": 1.4}))[0] == (
        "Home garden enthusiasts")
    assert name_of(profile(email_open_rate=0.7))[0] == "Email-engaged shoppers"
    assert name_of(profile(recency_days=-0.9))[0] == "Recent shoppers"
    assert name_of(profile())[0] == "Mainstream shoppers"
    # the same profile under another number gets the same name
    assert name_of(profile(cluster=7, recency_days=0.8))[0] == "Lapsed"


def test_equal_names_are_told_apart():
    found = names([
        profile(0, recency_days=0.8, channels={"store": 0.9, "web": 0.1}),
        profile(1, recency_days=0.8, channels={"web": 0.95, "store": 0.05}),
        profile(2, recency_days=0.8),
        profile(3, recency_days=0.8),
    ])
    assert found[0][0] == "Lapsed · mostly store"
    assert found[1][0] == "Lapsed · mostly web"
    assert found[2][0] == "Lapsed · longer gone (2)" and found[3][0] == (
        "Lapsed · longer gone (3)")
    assert "100 persons (25%)" in found[0][1] and "last order longer ago" in found[0][1]
