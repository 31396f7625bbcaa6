"""The nightly ``gold/ml_recommendations`` table: every person with signals, every channel.

Channels per person: ``web`` and ``app`` (the online shop sells the shared warehouse pool,
``lakehouse.inventory.channels``) and the person's **home store**: the store where they have
the most identified till purchases (ties: the lowest store code), for clienteling and
receipts. Other stores are served on demand by ``recommend(person_id, "<store code>")``: a
list for every person at every store would multiply the table for shoppers who never go there.

The table is replaced whole (one atomic commit) and every row carries the ``as_of`` it was
built for. It holds ``person_id`` (a resolved, pseudonymous id) and product facts only: no
raw PII.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.inventory.channels import ONLINE_CHANNELS
from lakehouse.recommend import inputs
from lakehouse.recommend.model import DEFAULT_MODEL
from lakehouse.recommend.rerank import build_recommendations, requests_for
from lakehouse.recommend.signals import read_interactions
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table

TABLE = "ml_recommendations"
# table -> what it holds, for the asset graph (columns: ``rerank.REC_DOCS``)
DESCRIPTIONS: dict[str, str] = {
    TABLE: "Top products per person and channel (web, app, the person's home store) from "
    "purchase, cart and browsing signals, re-ranked by what the channel can deliver now "
    "(available to promise, fulfilment cost and days to the person's zone) and by product "
    "quality; nothing the channel cannot sell is listed. `lakehouse.ml.recommend(person_id, "
    "channel, n)` answers the same live.",
}


def home_stores(interactions: pl.DataFrame, stores: list[str]) -> pl.DataFrame:
    """``person_id, channel``: each person's home store among ``stores`` (module docstring)."""
    till = interactions.filter((pl.col("kind") == "purchase") & (pl.col("channel") == "store")
                               & pl.col("location_id").is_in(stores))
    return (till.group_by("person_id", "location_id").agg(pl.len().alias("n"))
            .sort("person_id", "n", "location_id", descending=[False, True, False])
            .unique(subset=["person_id"], keep="first", maintain_order=True)
            .select("person_id", pl.col("location_id").alias("channel")))


def publish_recommendations(home: str | Path | Home | None = None, n: int = 10,
                            model: str = DEFAULT_MODEL, as_of: datetime | None = None) -> dict:
    """Rebuild ``gold/ml_recommendations`` from validated inputs; returns ``{"uri", "rows",
    "version", "persons", "seconds", "model", "as_of"}``. ``as_of`` defaults to just after
    the latest signal: the table is then a function of the validated data, not of the wall
    clock (a re-run, or a run an hour later on the same data, writes the same rows)."""
    start = time.perf_counter()
    h = home if isinstance(home, Home) else Home.resolve(home)
    interactions = read_interactions(h)
    latest = interactions["event_time"].max() if interactions.height else None
    as_of = as_of or (latest + timedelta(microseconds=1) if isinstance(latest, datetime)
                      else datetime.now(UTC))
    availability = inputs.read_availability(h)
    persons = interactions.filter(pl.col("event_time") < as_of)["person_id"].unique().sort()
    stores = sorted(set(availability["channel"]) - set(ONLINE_CHANNELS))
    requests = pl.concat([requests_for(persons, ONLINE_CHANNELS),
                          home_stores(interactions, stores).filter(
                              pl.col("person_id").is_in(persons))])
    recs = build_recommendations(
        interactions, availability, inputs.read_fulfilment(h), inputs.read_quality(h), n,
        as_of=as_of, zones=inputs.read_zones(h), requests=requests,
        categories=inputs.read_categories(h), model=model)
    frame = (recs.with_columns(pl.lit(as_of, pl.Datetime("us", "UTC")).alias("as_of"))
             .sort("person_id", "channel", "rank"))  # same data, same file content
    uri = table_uri(h, "gold", TABLE)
    version = replace_table(uri, frame)
    return {"uri": uri, "rows": frame.height, "version": version,
            "persons": frame["person_id"].n_unique(),
            "seconds": round(time.perf_counter() - start, 3), "model": model,
            "as_of": as_of.isoformat()}
