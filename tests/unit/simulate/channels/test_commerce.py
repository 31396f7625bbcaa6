"""Truth ``conversion_drivers``: one row per order, the purchase decision as it was made."""

from __future__ import annotations

import polars as pl

from lakehouse.home import Home

CAP = 0.95


def _drivers(home: Home) -> pl.DataFrame:
    return pl.read_parquet(home.truth / "conversion_drivers.parquet")


def test_one_row_per_truth_order(sim_home: Home) -> None:
    d = _drivers(sim_home)
    orders = pl.read_parquet(sim_home.truth / "orders.parquet")
    assert d.height == orders.height > 100
    assert d["order_id"].n_unique() == d.height
    j = orders.join(d, on="order_id", how="full", coalesce=True)
    assert j.height == orders.height
    assert (j["channel"] == j["order_channel"]).all()
    assert (j["person_id"] == j["person_id_right"]).all()
    assert set(d["order_channel"]) == {"web", "app", "store"}


def test_sources_match_order_channels(sim_home: Home) -> None:
    d = _drivers(sim_home)
    pairs = set(d.select("order_channel", "session_source").unique().iter_rows())
    assert pairs <= {("web", "organic"), ("web", "direct"), ("web", "ads"), ("web", "email"),
                     ("app", "direct"), ("store", "store")}
    assert ("web", "ads") in pairs and ("store", "store") in pairs
    # click sessions carry their campaign, visits none
    clicks = pl.col("session_source").is_in(["ads", "email"])
    assert (d.filter(clicks)["session_campaign_id"] != "").all()
    assert (d.filter(~clicks)["session_campaign_id"] == "").all()


def test_probabilities(sim_home: Home) -> None:
    d = _drivers(sim_home)
    assert ((d["p_buy"] > 0) & (d["p_buy"] <= CAP)).all()
    assert (d["p_without_ads"] <= d["p_buy"]).all()
    assert (d["p_without_email"] <= d["p_buy"]).all()
    assert ((d["p_without_ads"] > 0) & (d["p_without_email"] > 0)).all()


def test_ad_touches(sim_home: Home) -> None:
    d = _drivers(sim_home)
    ads = d.filter(pl.col("session_source") == "ads")
    assert ads.height > 0
    # an ad session's latest ad touch is its own click
    assert ads["ad_network"].is_in(["search", "social", "display"]).all()
    assert (ads["ad_campaign_id"] == ads["session_campaign_id"]).all()
    touched = d.filter(pl.col("ad_campaign_id") != "")
    assert touched["ad_network"].is_in(["search", "social", "display"]).all()
    assert touched.filter(pl.col("session_source") != "ads").height > 0  # lift on other visits
    # the ad lift lowers the probability when removed, unless both sides hit the cap
    assert ((touched["p_without_ads"] < touched["p_buy"])
            | (touched["p_without_ads"] == CAP)).all()
    untouched = d.filter(pl.col("ad_campaign_id") == "")
    assert untouched.height > 0
    assert (untouched["ad_network"] == "").all()
    assert (untouched["p_without_ads"] == untouched["p_buy"]).all()


def test_email_sessions_carry_an_email_lift(sim_home: Home) -> None:
    d = _drivers(sim_home).filter(pl.col("session_source") == "email")
    assert d.height > 0
    # an e-mail click follows an open the same day: the e-mail lift is on
    assert ((d["p_without_email"] < d["p_buy"]) | (d["p_without_email"] == CAP)).all()
