"""Positions as a fold of the ledger in event time.

A cycle count is an absolute snapshot: on hand after it is the counted quantity, and the gap
to what the ledger expected is shrinkage the count reveals. Every other event is a delta, so
between two counts the fold is a sum and arrival order cannot matter. Reservations are deltas
only (counts do not see them).

``apply_batch`` is the incremental form: a position state keyed by product x location carries
on hand, reserved, the last count and the last event time; a micro-batch touches only its own
keys, and only a late cycle count (earlier than events already folded for its key) needs that
key's history since the count.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import polars as pl

from lakehouse.inventory.ledger import canonical, sort_fold_order

KEY = ["product_id", "location_id"]

STATE_SCHEMA: dict[str, pl.DataType] = {
    "product_id": pl.String(),
    "location_id": pl.String(),
    "on_hand": pl.Int64(),
    "reserved": pl.Int64(),
    "last_event_time": pl.Datetime("us", "UTC"),
    "last_count_time": pl.Datetime("us", "UTC"),
    "events": pl.Int64(),
}


def empty_state() -> pl.DataFrame:
    return pl.DataFrame(schema=STATE_SCHEMA)


def running(ledger: pl.DataFrame, *, presorted: bool = False) -> pl.DataFrame:
    """Each ledger row with ``on_hand`` / ``reserved`` right after it, and for cycle counts the
    ``shrinkage`` they reveal (counted minus expected; null for a key's first event, e.g. the
    opening count)."""
    led = ledger if presorted else sort_fold_order(ledger)
    is_count = pl.col("absolute_on_hand").is_not_null()
    led = led.with_columns(is_count.cast(pl.Int64).cum_sum().over(KEY).alias("_seg"))
    seg = [*KEY, "_seg"]
    base = pl.col("absolute_on_hand").fill_null(0).first().over(seg)
    led = led.with_columns(
        (base + pl.col("delta_on_hand").cum_sum().over(seg)).alias("on_hand"),
        pl.col("delta_reserved").cum_sum().over(KEY).alias("reserved"),
    )
    before = pl.col("on_hand").shift(1).over(KEY)
    return led.with_columns(
        pl.when(is_count).then(pl.col("absolute_on_hand") - before).alias("shrinkage"),
    ).drop("_seg")


def positions(ledger: pl.DataFrame, as_of: datetime | None = None) -> pl.DataFrame:
    """Position per product x location after every event up to ``as_of`` (event time).

    Returns the state table (``STATE_SCHEMA``) plus ``available_to_promise`` and
    ``shrinkage`` (total revealed by counts)."""
    led = ledger if as_of is None else ledger.filter(pl.col("event_time") <= _utc(as_of))
    if led.is_empty():
        return empty_state().with_columns(
            pl.lit(0).alias("available_to_promise"), pl.lit(0).alias("shrinkage"))
    run = running(canonical(led), presorted=True)
    is_count = pl.col("absolute_on_hand").is_not_null()
    out = run.group_by(KEY).agg(
        pl.col("on_hand").last(), pl.col("reserved").last(),
        pl.col("event_time").max().alias("last_event_time"),
        pl.col("event_time").filter(is_count).max().alias("last_count_time"),
        pl.len().cast(pl.Int64).alias("events"),
        pl.col("shrinkage").fill_null(0).sum().alias("shrinkage"),
    )
    return out.with_columns(atp()).sort(KEY)


def atp() -> pl.Expr:
    """Available to promise: on hand not held for open orders, never below zero."""
    return (pl.col("on_hand") - pl.col("reserved")).clip(lower_bound=0).alias(
        "available_to_promise")


def _utc(t: datetime) -> datetime:
    from datetime import UTC

    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


History = Callable[[pl.DataFrame], pl.DataFrame]


def apply_batch(state: pl.DataFrame, batch: pl.DataFrame,
                history: pl.DataFrame | History | None = None) -> pl.DataFrame:
    """State after folding ``batch`` (ledger rows not folded before) into ``state``.

    Cost grows with the batch: keys outside it are untouched. ``history`` gives the already
    folded ledger rows of some keys: a frame, or a function of a frame ``(product_id,
    location_id, since)`` returning rows of those keys with ``event_time >= since`` (read only
    the partitions since then). It is needed only when a late cycle count lands before events
    already folded for its key."""
    if batch.is_empty():
        return state
    b = sort_fold_order(batch)
    is_count = pl.col("absolute_on_hand").is_not_null()
    t = pl.col("event_time")
    per = b.group_by(KEY).agg(
        t.filter(is_count).max().alias("b_count_time"),
        t.filter(is_count).min().alias("b_first_count"),
        pl.col("absolute_on_hand").filter(is_count).last().alias("b_count_qty"),
        pl.col("delta_reserved").sum().alias("b_reserved"),
        t.max().alias("b_last"),
        pl.len().cast(pl.Int64).alias("b_events"),
    )
    j = per.join(state, on=KEY, how="left")
    late_count = pl.col("b_first_count").is_not_null() & (
        pl.col("b_first_count") < pl.col("last_event_time")).fill_null(False)
    refold = j.filter(late_count)
    easy = j.filter(~late_count)
    # deltas after the governing count (the batch's latest, else the state's)
    gov = easy.select(*KEY, pl.coalesce("b_count_time", "last_count_time").alias("_gov"))
    after = (b.join(gov, on=KEY).filter(pl.col("_gov").is_null() | (t >= pl.col("_gov")))
             .filter(~is_count).group_by(KEY).agg(pl.col("delta_on_hand").sum().alias("_d")))
    easy = easy.join(after, on=KEY, how="left").with_columns(pl.col("_d").fill_null(0))
    easy_out = easy.select(
        *KEY,
        pl.when(pl.col("b_count_time").is_not_null())
        .then(pl.col("b_count_qty") + pl.col("_d"))
        .otherwise(pl.col("on_hand").fill_null(0) + pl.col("_d")).alias("on_hand"),
        (pl.col("reserved").fill_null(0) + pl.col("b_reserved")).alias("reserved"),
        pl.max_horizontal("last_event_time", "b_last").alias("last_event_time"),
        pl.coalesce("b_count_time", "last_count_time").alias("last_count_time"),
        (pl.col("events").fill_null(0) + pl.col("b_events")).alias("events"),
    )
    parts = [easy_out]
    if refold.height:
        parts.append(_refold(refold, b, history))
    changed = pl.concat(parts).select(list(STATE_SCHEMA)).cast(STATE_SCHEMA)
    keep = state.join(changed.select(KEY), on=KEY, how="anti")
    return pl.concat([keep.select(list(STATE_SCHEMA)).cast(STATE_SCHEMA), changed])


def _refold(keys: pl.DataFrame, batch: pl.DataFrame,
            history: pl.DataFrame | History | None) -> pl.DataFrame:
    """Keys whose batch holds a count earlier than events already folded: fold again from that
    count, over the key's history since it plus the batch."""
    if history is None:
        raise ValueError("a late cycle count needs the ledger history of its key")
    want = keys.select(*KEY, pl.col("b_first_count").alias("since"))
    if callable(history):
        hist = history(want)
    else:
        hist = history.join(want, on=KEY).filter(pl.col("event_time") >= pl.col("since")) \
            .drop("since")
    rows = pl.concat([hist.select(batch.columns), batch.join(want.select(KEY), on=KEY)])
    rows = canonical(rows)
    fold = running(rows, presorted=True).group_by(KEY).agg(
        pl.col("on_hand").last().alias("_on_hand"),
        pl.col("event_time").filter(pl.col("absolute_on_hand").is_not_null()).max()
        .alias("_count"),
    )
    out = keys.join(fold, on=KEY)
    return out.select(
        *KEY, pl.col("_on_hand").alias("on_hand"),
        (pl.col("reserved").fill_null(0) + pl.col("b_reserved")).alias("reserved"),
        pl.max_horizontal("last_event_time", "b_last").alias("last_event_time"),
        pl.max_horizontal("last_count_time", "_count").alias("last_count_time"),
        (pl.col("events").fill_null(0) + pl.col("b_events")).alias("events"),
    )


def state_of(ledger: pl.DataFrame) -> pl.DataFrame:
    """The incremental state a full fold gives (for checks and for a first build)."""
    return positions(ledger).select(list(STATE_SCHEMA)).cast(STATE_SCHEMA)
