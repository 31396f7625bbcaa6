"""From relevance to a list a channel can fulfil now: stock gate, delivery, quality, top-n.

For each requested (person, channel):

1. **Gate** (hard): only products the channel may sell now, ``available_to_promise > 0``,
   where ``available_to_promise`` is the channel's ``sellable`` units summed over the
   locations it sells from (``gold/inventory_channel_availability``: warehouse ATP less the
   shrinkage buffer online, the store's shelf in a store). Nothing else can enter a list, so
   no recommended item is unavailable to its channel at recommendation time.
2. **Already bought**: products the person bought are left out when their category is a
   durable one, i.e. its repeat-purchase rate (share of buyer-product pairs bought again on a
   later day) is below :data:`REPEAT_THRESHOLD`; in consumable categories they stay (people
   buy them again). Measured from the data at every build (see :func:`consumable_categories`).
3. **Re-rank** (soft): ``score = relevance x (1 - QUALITY_WEIGHT + QUALITY_WEIGHT x quality)
   / (1 + DAYS_WEIGHT x delivery_days + COST_WEIGHT x fulfilment_cost / median cost)``.
   ``relevance`` is the model's score scaled to a maximum of 1 per person, plus a small
   popularity share (fills lists of persons with few signals). Online, cost and days are
   those of the cheapest fulfilment option (``gold/inventory_fulfilment_options``) to the
   person's shipping zone; a person with no known zone gets the most common zone among
   persons whose zone is known (null cost/days and a neutral factor if no option is listed).
   In a store, the shopper carries the item out: cost 0, 0 days.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
import polars as pl
import scipy.sparse as sp

from lakehouse.inventory.channels import ONLINE_CHANNELS
from lakehouse.recommend.model import (
    DEFAULT_MODEL,
    Matrix,
    Model,
    interaction_matrix,
    make_model,
    positions,
    purchase_popularity,
    scale_rows,
)

REPEAT_THRESHOLD = 0.25
QUALITY_WEIGHT = 0.5
DAYS_WEIGHT = 0.05
COST_WEIGHT = 0.05
FILL = 1e-3  # popularity share added to relevance: a tie-breaker, never a reordering
CHUNK = 2048  # persons scored at once (bounded memory)
REASONS = {"personal": "matches this person's purchases and browsing",
           "popular": "popular now",
           "cold": "popular now (no signals for this person)"}
# reasons as small codes while ranking (a string per candidate costs more than its score)
_PERSONAL, _POPULAR, _COLD = 0, 1, 2
_REASON_CODES = {_PERSONAL: REASONS["personal"], _POPULAR: REASONS["popular"],
                 _COLD: REASONS["cold"]}
REC_SCHEMA = {"person_id": pl.String, "channel": pl.String, "rank": pl.Int64,
              "product_id": pl.String, "score": pl.Float64, "available_to_promise": pl.Int64,
              "fulfilment_cost": pl.Float64, "delivery_days": pl.Int64, "quality": pl.Float64,
              "reason": pl.String}
# what each column of ``gold/ml_recommendations`` holds (the UI's column schema)
REC_DOCS = {
    "person_id": "resolved person (identity map); a cold person gets the channel's popular list",
    "channel": "web, app, or a store's location code (the person's home store)",
    "rank": "1 = first shown; ranks run 1..m, m < n when the channel has too little in stock",
    "product_id": "recommended product, sellable by the channel now",
    "score": "relevance after re-ranking by availability, delivery cost and days, and quality",
    "available_to_promise": "units the channel may sell now, summed over its locations (> 0)",
    "fulfilment_cost": "cheapest shipping cost to the person's zone (0 in a store)",
    "delivery_days": "days to deliver to the person's zone by that option (0 in a store)",
    "quality": "shrunk mean rating x (1 - shrunk return rate), in [0, 1]",
    "reason": "why the product is on the list, in words",
    "as_of": "when the list was built; signals strictly before it",
}


def channel_stock(availability: pl.DataFrame) -> pl.DataFrame:
    """``channel, product_id, available_to_promise``: units each channel may promise now
    (``sellable`` where the frame has it, else ``available_to_promise``), only positive."""
    units = "sellable" if "sellable" in availability.columns else "available_to_promise"
    return (availability.group_by("channel", "product_id")
            .agg(pl.col(units).clip(lower_bound=0).sum().cast(pl.Int64)
                 .alias("available_to_promise"))
            .filter(pl.col("available_to_promise") > 0).sort("channel", "product_id"))


def cheapest_delivery(fulfilment: pl.DataFrame) -> pl.DataFrame:
    """``product_id, zone, fulfilment_cost, delivery_days``: the cheapest option per product and
    zone over every location and service (then the fastest)."""
    return (fulfilment.filter(pl.col("sellable") > 0 if "sellable" in fulfilment.columns
                              else pl.lit(True))
            .sort("product_id", "zone", "shipping_cost", "delivery_days")
            .unique(subset=["product_id", "zone"], keep="first", maintain_order=True)
            .select("product_id", "zone", pl.col("shipping_cost").alias("fulfilment_cost"),
                    pl.col("delivery_days").cast(pl.Int64)))


def consumable_categories(interactions: pl.DataFrame, categories: pl.DataFrame,
                          threshold: float = REPEAT_THRESHOLD) -> set[str]:
    """Categories whose repeat-purchase rate is at least ``threshold``: the share of
    (person, product) pairs bought on more than one day."""
    bought = (interactions.filter(pl.col("kind") == "purchase")
              .group_by("person_id", "product_id")
              .agg(pl.col("event_time").dt.date().n_unique().alias("days"))
              .join(categories.select("product_id", "category"), on="product_id"))
    rates = bought.group_by("category").agg((pl.col("days") > 1).mean().alias("repeat"))
    return set(rates.filter(pl.col("repeat") >= threshold)["category"].to_list())


def _excluded(matrix: Matrix, interactions: pl.DataFrame, as_of: datetime,
              categories: pl.DataFrame | None) -> sp.csr_array:
    """Matrix rows x product columns: true where bought before ``as_of`` in a durable
    category (sparse: a chunk of persons finds its exclusions by one row gather)."""
    past = interactions.filter((pl.col("kind") == "purchase") & (pl.col("event_time") < as_of))
    if categories is None:
        categories = pl.DataFrame({"product_id": matrix.products,
                                   "category": [""] * len(matrix.products)})
    keep = consumable_categories(past, categories)
    durable = categories.filter(~pl.col("category").is_in(list(keep)))["product_id"]
    pairs = past.filter(pl.col("product_id").is_in(durable)).select(
        "person_id", "product_id").unique()
    rows = positions(pairs["person_id"], matrix.persons)
    cols = positions(pairs["product_id"], matrix.products)
    known = (rows >= 0) & (cols >= 0)
    return sp.csr_array((np.ones(int(known.sum()), dtype=bool), (rows[known], cols[known])),
                        shape=(len(matrix.persons), len(matrix.products)))


def _zones(persons: pl.Series, zones: pl.DataFrame | None) -> pl.Series:
    """Each person's zone, else the most common zone (ties: the smallest), else null."""
    if zones is None or zones.is_empty():
        return pl.Series("zone", [None] * len(persons), dtype=pl.String)
    known = zones.filter(pl.col("zone").is_not_null())
    fallback = known["zone"].mode().sort()[0] if known.height else None
    known = known.unique("person_id", keep="last", maintain_order=True)  # a repeat: the last
    return persons.replace_strict(known["person_id"], known["zone"], default=fallback,
                                  return_dtype=pl.String)


def build_recommendations(interactions: pl.DataFrame, availability: pl.DataFrame,
                          fulfilment: pl.DataFrame, quality: pl.DataFrame, n: int = 10, *,
                          as_of: datetime | None = None, zones: pl.DataFrame | None = None,
                          requests: pl.DataFrame | None = None,
                          categories: pl.DataFrame | None = None,
                          model: str | Model = DEFAULT_MODEL, rerank: bool = True,
                          exclude_bought: bool = True) -> pl.DataFrame:
    """:data:`REC_SCHEMA`: the top ``n`` per requested (person, channel) (module docstring).

    ``interactions``: ``lakehouse.recommend.signals`` frame (only rows before ``as_of``, default
    now, are used); ``availability``: channel availability rows; ``fulfilment``: fulfilment
    options; ``quality``: ``product_id, quality``; ``zones``: ``person_id, zone``;
    ``requests``: ``person_id, channel`` (default: every person with a signal x web and app; a
    person without signals gets the channel's popular list); ``categories``:
    ``product_id, category`` for the already-bought rule (without it: one category);
    ``rerank=False``: relevance only (no quality or delivery factor)."""
    as_of = as_of or datetime.now(UTC)
    stock = channel_stock(availability)
    products = sorted(set(stock["product_id"]) | set(interactions["product_id"]))
    matrix = interaction_matrix(interactions, as_of, products)
    popularity = purchase_popularity(interactions, as_of, products)
    fitted = make_model(model) if isinstance(model, str) else model
    fitted.fit(matrix, popularity)
    if requests is None:
        requests = requests_for(matrix.persons, ONLINE_CHANNELS)
    excluded = _excluded(matrix, interactions, as_of, categories) if exclude_bought else None
    col = {p: i for i, p in enumerate(products)}
    q = np.full(len(products), float(quality["quality"].mean() or 0.0))
    for product, value in quality.select("product_id", "quality").iter_rows():
        if product in col and value is not None:
            q[col[product]] = value
    top = float(popularity.max()) if popularity.size else 0.0
    fill = FILL * (popularity / top if top > 0 else popularity)
    delivery = cheapest_delivery(fulfilment) if fulfilment.height else None
    parts = []
    for (channel,), wanted in requests.group_by("channel", maintain_order=True):
        persons = wanted["person_id"]
        units = np.zeros(len(products), dtype=np.int64)
        ch = stock.filter(pl.col("channel") == channel)
        units[[col[p] for p in ch["product_id"]]] = ch["available_to_promise"].to_numpy()
        delivered = _delivery(products, col, channel, _zones(persons, zones), delivery)
        parts.append(_rank_channel(fitted, matrix, persons, str(channel), units, q, fill,
                                   delivered, excluded, n, rerank))
    out = pl.concat(parts) if parts else pl.DataFrame(schema=REC_SCHEMA)
    return out.select(pl.col(c).cast(t) for c, t in REC_SCHEMA.items())


def _delivery(products: list[str], col: dict[str, int], channel: str,
              person_zones: pl.Series, delivery: pl.DataFrame | None
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zone x product cost and days (NaN: no option listed) and each person's zone row: per
    zone, not per person, so memory does not grow with persons x products."""
    if channel not in ONLINE_CHANNELS:
        flat = np.zeros((1, len(products)))
        return flat, flat, np.zeros(len(person_zones), dtype=np.int64)
    zone_list = sorted(person_zones.drop_nulls().unique())
    zi = {z: i for i, z in enumerate(zone_list)}
    cost = np.full((len(zone_list) + 1, len(products)), np.nan)  # last row: no zone
    days = np.full((len(zone_list) + 1, len(products)), np.nan)
    if delivery is not None:
        for product, zone, c, d in delivery.iter_rows():
            if zone in zi and product in col:
                cost[zi[zone], col[product]] = c
                days[zi[zone], col[product]] = d
    idx = positions(person_zones, zone_list)
    return cost, days, np.where(idx < 0, len(zone_list), idx)


def _rank_channel(model: Model, matrix: Matrix, persons: pl.Series, channel: str,
                  units: np.ndarray, quality: np.ndarray, fill: np.ndarray,
                  delivered: tuple[np.ndarray, np.ndarray, np.ndarray],
                  excluded: sp.csr_array | None, n: int, rerank: bool) -> pl.DataFrame:
    rows = matrix.rows(persons)
    zone_cost, zone_days, zone_of = delivered
    median_cost = float(np.nanmedian(zone_cost)) if np.isfinite(zone_cost).any() else 0.0
    frames = []
    for start in range(0, len(persons), CHUNK):
        r = rows[start:start + CHUNK]
        raw, personal = model.parts(r)
        cost = zone_cost[zone_of[start:start + CHUNK]]
        days = zone_days[zone_of[start:start + CHUNK]]
        score = scale_rows(np.asarray(raw, dtype=np.float32)) + fill[None, :]
        if rerank:
            penalty = (DAYS_WEIGHT * np.nan_to_num(days)
                       + (COST_WEIGHT * np.nan_to_num(cost) / median_cost if median_cost > 0
                          else 0.0))
            score = score * (1 - QUALITY_WEIGHT + QUALITY_WEIGHT * quality)[None, :]
            score = score / (1.0 + penalty)
        score = np.where(units[None, :] > 0, score, -np.inf)
        if excluded is not None:
            known = np.flatnonzero(r >= 0)  # a person with no signal has nothing bought
            local, col = excluded[r[known]].nonzero()
            score[known[local], col] = -np.inf
        k = min(n, score.shape[1])
        if k == 0:
            continue
        pick = np.argpartition(-score, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(score, pick, axis=1), axis=1, kind="stable")
        pick = np.take_along_axis(pick, order, axis=1)
        chosen = np.take_along_axis(score, pick, axis=1)
        ok = np.isfinite(chosen)
        if not ok.any():
            continue
        who = np.repeat(np.arange(start, start + len(r)), k).reshape(len(r), k)
        why = np.where(np.take_along_axis(personal, pick, axis=1), _PERSONAL, _POPULAR)
        why = np.where((r < 0)[:, None], _COLD, why)
        cs = np.take_along_axis(cost, pick, axis=1)
        ds = np.take_along_axis(days, pick, axis=1)
        frames.append(pl.DataFrame({
            "person_idx": who[ok], "channel": channel,
            # unavailable items sort last, so the kept ranks run 1..m (m < n: stock ran out)
            "rank": np.tile(np.arange(1, k + 1), (len(r), 1))[ok],
            "product_idx": pick[ok], "score": chosen[ok].astype(np.float64),
            "fulfilment_cost": cs[ok], "delivery_days": ds[ok], "reason": why[ok]},
            schema_overrides={"person_id": pl.String}))
    if not frames:
        return pl.DataFrame(schema=REC_SCHEMA)
    out = pl.concat(frames)
    idx = out["product_idx"].to_numpy()
    return out.with_columns(
        persons.cast(pl.String).gather(out["person_idx"]).alias("person_id"),
        pl.Series(matrix.products, dtype=pl.String).gather(idx).alias("product_id"),
        pl.Series("available_to_promise", units[idx]),
        pl.Series("quality", quality[idx]),
        pl.col("fulfilment_cost").fill_nan(None),
        pl.col("delivery_days").fill_nan(None),
        pl.col("reason").replace_strict(_REASON_CODES, return_dtype=pl.String),
    ).select(pl.col(c).cast(t) for c, t in REC_SCHEMA.items())


def requests_for(persons: Sequence[str] | pl.Series, channels: Sequence[str]) -> pl.DataFrame:
    """``person_id, channel``: every person x every channel, person by person."""
    return pl.DataFrame({"person_id": persons}, schema={"person_id": pl.String}).join(
        pl.DataFrame({"channel": channels}, schema={"channel": pl.String}), how="cross",
        maintain_order="left_right")
