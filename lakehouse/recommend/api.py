"""``recommend(person_id, channel, n)``: one person's list against the stock of right now.

Computed live rather than looked up in the nightly table: availability is re-read at its
current validated pin on every call (stock moves with every micro-batch), and only validated
versions are ever read (the nightly table has no quality gate of its own). The slow inputs
(signals, quality, zones, fulfilment, catalog) are cached per home and per validated version
of the tables they come from, so a call after a new pin sees the new data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.storage.validations import validated_versions

# tables behind the cached inputs: a new validated version of any of them refreshes the cache
_CACHED = ("silver/orders", "silver/order_lines", "silver/pos_transaction_lines",
           "silver/clickstream_events", "silver/email_events", "silver/reviews",
           "silver/returns", "silver/products", "silver/shipments", "gold/identity_map",
           "gold/customer_profiles", "gold/inventory_fulfilment_options")
_CACHE: dict[tuple, dict[str, pl.DataFrame]] = {}


def _inputs(home: Home) -> dict[str, pl.DataFrame]:
    from lakehouse.recommend import inputs
    from lakehouse.recommend.signals import read_interactions

    pins = validated_versions(home.lake)
    key = (str(home.root), tuple(pins.get(t) for t in _CACHED))
    if key not in _CACHE:
        _CACHE.clear()  # one home at a time: bounded memory
        _CACHE[key] = {"interactions": read_interactions(home),
                       "fulfilment": inputs.read_fulfilment(home),
                       "quality": inputs.read_quality(home), "zones": inputs.read_zones(home),
                       "categories": inputs.read_categories(home)}
    return _CACHE[key]


def recommend(person_id: str, channel: str, n: int = 10,
              home: str | Path | Home | None = None) -> pl.DataFrame:
    """Top ``n`` products for ``person_id`` on ``channel`` (``web``, ``app`` or a store code):
    ``rank, product_id, score, available_to_promise, fulfilment_cost, delivery_days, quality,
    reason`` (``lakehouse.recommend.rerank``). A person without signals gets the channel's
    popular list, said in ``reason``; an unknown channel raises ValueError naming the valid
    ones."""
    # imported here: lakehouse.ml re-exports this function and must stay quick to import
    from lakehouse.recommend import inputs
    from lakehouse.recommend.model import DEFAULT_MODEL
    from lakehouse.recommend.rerank import build_recommendations

    h = home if isinstance(home, Home) else Home.resolve(home)
    availability = inputs.read_availability(h)
    valid = sorted(availability["channel"].unique())
    if channel not in valid:
        listed = ", ".join(valid) if valid else "none (no validated channel availability yet)"
        raise ValueError(f"unknown channel {channel!r}: valid channels are {listed}")
    cached = _inputs(h)
    requests = pl.DataFrame({"person_id": [person_id], "channel": [channel]})
    recs = build_recommendations(
        cached["interactions"], availability, cached["fulfilment"], cached["quality"], n,
        as_of=datetime.now(UTC), zones=cached["zones"], requests=requests,
        categories=cached["categories"], model=DEFAULT_MODEL)
    return recs.drop("person_id", "channel")
