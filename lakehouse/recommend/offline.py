"""Offline evaluation on held-out later purchases: does the list name what people buy next?

Split at ``cutoff`` (default: 14 days before the day of the last signal, midnight UTC, or the
middle of the signals' span if that is later: :func:`default_cutoff`): every
model is trained on the signals before it and recommends, as of the cutoff, to the **test
persons**: persons with at least one signal before the cutoff and at least one purchase
(shop order not cancelled, or identified till line) at or after it. Each test person is
scored on one channel: that of their first held-out purchase (a till purchase: its store),
with the stock that channel had at the cutoff.

- **hit rate@k**: share of test persons whose top-k list contains at least one product they
  bought in the held-out window;
- **recall@k**: mean over test persons of |top-k ∩ bought| / |bought| (distinct products);
- **unavailable**: recommended (person, channel, product) rows, over every model, whose
  product the channel could not promise at the cutoff (must be 0).

Stock at the cutoff is the last daily close before the cutoff's day (``gold/inventory_daily``,
ATP per location, routed to channels as ``gold/inventory_channel_availability`` routes them);
quality uses only reviews, returns and sales before the cutoff. Not as of the cutoff: the
fulfilment options and person zones (today's), and the identity map (today's links).

The popularity baseline is the channel's most purchased (decayed) available products, no
re-ranking and nothing left out: the same list for every person of a channel.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.recommend import inputs
from lakehouse.recommend.model import DEFAULT_MODEL, MODELS
from lakehouse.recommend.rerank import build_recommendations, channel_stock
from lakehouse.recommend.signals import read_interactions
from lakehouse.storage.paths import table_uri
from lakehouse.storage.validations import read_validated

HOLDOUT_DAYS = 14


def default_cutoff(interactions: pl.DataFrame) -> datetime:
    """Midnight UTC :data:`HOLDOUT_DAYS` days before the day of the last signal, but no
    earlier than the day in the middle of the signals' span (a short history still trains on
    half of it)."""
    first, last = interactions["event_time"].min(), interactions["event_time"].max()
    if not isinstance(last, datetime) or not isinstance(first, datetime):
        return datetime.combine(date.today(), time(), UTC)
    day = max(last.date() - timedelta(days=HOLDOUT_DAYS), (first + (last - first) / 2).date())
    return datetime.combine(day, time(), UTC)


def availability_at(home: Home, cutoff: datetime) -> pl.DataFrame:
    """ATP per product, channel and location at the last daily close before ``cutoff``'s day,
    routed to channels as today's channel availability routes locations."""
    daily = read_validated(table_uri(home, "gold", "inventory_daily"),
                           ["product_id", "location_id", "date", "available_to_promise"])
    routes = inputs.read_availability(home).select("channel", "location_id").unique()
    if daily is None:
        return pl.DataFrame(schema={"product_id": pl.String, "channel": pl.String,
                                    "location_id": pl.String, "available_to_promise": pl.Int64})
    close = (daily.filter(pl.col("date") < cutoff.date())
             .sort("date").group_by("product_id", "location_id").last())
    return close.join(routes, on="location_id").select(
        "product_id", "channel", "location_id", pl.col("available_to_promise").cast(pl.Int64))


def held_out(interactions: pl.DataFrame, cutoff: datetime) -> pl.DataFrame:
    """``person_id, channel, bought``: the test persons (module docstring), the channel of
    their first held-out purchase and the distinct products they bought from the cutoff on."""
    trained = interactions.filter(pl.col("event_time") < cutoff)["person_id"].unique()
    later = interactions.filter((pl.col("kind") == "purchase")
                                & (pl.col("event_time") >= cutoff)
                                & pl.col("person_id").is_in(trained.implode()))
    channel = pl.when(pl.col("channel") == "store").then(pl.col("location_id")).otherwise(
        pl.col("channel"))
    return (later.sort("event_time").group_by("person_id")
            .agg(channel.first().alias("channel"), pl.col("product_id").unique().alias("bought"))
            .sort("person_id"))


def score(recs: pl.DataFrame, test: pl.DataFrame, k: int) -> dict:
    """Hit rate@k and recall@k of ``recs`` (rank <= k) over ``test`` persons."""
    top = (recs.filter(pl.col("rank") <= k).group_by("person_id")
           .agg(pl.col("product_id").alias("top")))
    joined = test.join(top, on="person_id", how="left").with_columns(
        pl.col("top").fill_null(pl.lit([], pl.List(pl.String))))
    common = pl.col("bought").list.set_intersection("top").list.len()
    stats = joined.select((common > 0).mean().alias("hit"),
                          (common / pl.col("bought").list.len()).mean().alias("recall"))
    if test.is_empty():
        return {"hit_rate": 0.0, "recall": 0.0}
    return {"hit_rate": round(float(stats["hit"][0]), 4),
            "recall": round(float(stats["recall"][0]), 4)}


def unavailable(recs: pl.DataFrame, availability: pl.DataFrame) -> int:
    """Recommended rows whose product the channel could not promise (``channel_stock``)."""
    stock = channel_stock(availability).select("channel", "product_id")
    return recs.join(stock, on=["channel", "product_id"], how="anti").height


def evaluate(home_or_frames: str | Path | Home | dict, cutoff: datetime | date | None = None,
             k: int = 10, models: tuple[str, ...] = MODELS) -> dict:
    """Every model and the popularity baseline on held-out later purchases (module docstring).

    ``home_or_frames``: a home, or frames ``interactions``, ``availability`` (as of the
    cutoff), ``fulfilment``, ``quality`` and optionally ``zones`` and ``categories``.
    Returns ``{"cutoff", "k", "test_persons", "chosen", "models": {name: {"hit_rate",
    "recall"}}, "popularity": {...}, "lift", "unavailable"}``; ``lift`` is the chosen
    model's hit rate over the baseline's."""
    if isinstance(home_or_frames, dict):
        frames = dict(home_or_frames)
        cut = _as_datetime(cutoff) or default_cutoff(frames["interactions"])
    else:
        home = (home_or_frames if isinstance(home_or_frames, Home)
                else Home.resolve(home_or_frames))
        interactions = read_interactions(home)
        cut = _as_datetime(cutoff) or default_cutoff(interactions)
        frames = {"interactions": interactions, "availability": availability_at(home, cut),
                  "fulfilment": inputs.read_fulfilment(home),
                  "quality": inputs.read_quality(home, as_of=cut),
                  "zones": inputs.read_zones(home), "categories": inputs.read_categories(home)}
    everything = frames["interactions"]
    test = held_out(everything, cut)
    train = everything.filter(pl.col("event_time") < cut)
    common = {"as_of": cut, "zones": frames.get("zones"), "categories": frames.get("categories"),
              "requests": test.select("person_id", "channel")}
    out: dict = {"cutoff": cut.isoformat(), "k": k, "test_persons": test.height,
                 "chosen": DEFAULT_MODEL, "models": {}}
    bad = 0
    for name in models:
        recs = build_recommendations(train, frames["availability"], frames["fulfilment"],
                                     frames["quality"], k, model=name, **common)
        out["models"][name] = score(recs, test, k)
        bad += unavailable(recs, frames["availability"])
    base = build_recommendations(train, frames["availability"], frames["fulfilment"],
                                 frames["quality"], k, model="popularity", rerank=False,
                                 exclude_bought=False, **common)
    out["popularity"] = score(base, test, k)
    bad += unavailable(base, frames["availability"])
    chosen = out["models"].get(DEFAULT_MODEL, {}).get("hit_rate")
    baseline = out["popularity"]["hit_rate"]
    out["lift"] = round(chosen / baseline, 3) if chosen is not None and baseline else None
    out["unavailable"] = bad
    return out


def _as_datetime(cutoff: datetime | date | None) -> datetime | None:
    if cutoff is None or isinstance(cutoff, datetime):
        return cutoff
    return datetime.combine(cutoff, time(), UTC)
