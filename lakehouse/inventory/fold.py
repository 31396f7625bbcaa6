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
from datetime import UTC, datetime

import polars as pl

from lakehouse.inventory.ledger import SOURCE_PRIORITY, canonical, sort_fold_order

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
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


History = Callable[[pl.DataFrame], pl.DataFrame]


def supersede(batch: pl.DataFrame, previous: pl.DataFrame
              ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(fold, retract)`` for a micro-batch of ledger rows: the rows to fold, and the already
    folded rows (``previous``: at least those sharing an event key with the batch) they
    replace. The same winner as ``canonical``: the system of record replaces a fallback (a WMS
    receipt the supplier feed stood in for), a known location replaces an inferred one (a
    reservation the pick placed); a re-delivered row changes nothing."""
    new = batch.with_columns(pl.lit(True).alias("_new"))
    old = (previous.join(batch.select("event_key").unique(), on="event_key", how="semi")
           .select(batch.columns).with_columns(pl.lit(False).alias("_new")))
    pri = pl.col("source").replace_strict(SOURCE_PRIORITY, default=2, return_dtype=pl.Int64)
    win = (pl.concat([old, new]).with_columns(pri.alias("_pri"))
           .sort("event_key", "_pri", "location_inferred", "source_event_id", "event_time",
                 "arrived_at", "location_id", "_new", nulls_last=True)
           .unique(subset=["event_key"], keep="first"))
    fold = win.filter(pl.col("_new")).select(batch.columns)
    retract = old.join(fold.select("event_key"), on="event_key", how="semi").select(
        batch.columns)
    return fold, retract


def ledger_changes(old: pl.DataFrame, new: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(added, removed)`` between two versions of the ledger table (arrival time aside): what
    a micro-batch changed, for ``apply_batch(state, added, history=old, retract=removed)``.
    A rebuilt ledger can move a row (an order's inferred warehouse, once its pick lands) or
    replace it (a fallback by the system of record): the old version is taken back."""
    cols = [c for c in new.columns if c != "arrived_at"]
    return (new.join(old.select(cols), on=cols, how="anti", nulls_equal=True),
            old.join(new.select(cols), on=cols, how="anti", nulls_equal=True))


def apply_batch(state: pl.DataFrame, batch: pl.DataFrame,
                history: pl.DataFrame | History | None = None,
                retract: pl.DataFrame | None = None) -> pl.DataFrame:
    """State after folding ``batch`` (ledger rows not folded before) into ``state``, and
    taking back ``retract`` (folded rows the batch replaces: see ``supersede``).

    Cost grows with the batch: keys outside it are untouched. ``history`` gives the already
    folded ledger rows of some keys: a frame, or a function of a frame ``(product_id,
    location_id, since)`` returning rows of those keys with ``event_time >= since`` (a
    key-clustered read). It is needed only when a late cycle count lands before events
    already folded for its key (or a folded count is retracted): that key is folded again
    from the count."""
    rows = [batch.with_columns(pl.lit(1, pl.Int64).alias("_w"))]
    forced = pl.DataFrame(schema={"product_id": pl.String, "location_id": pl.String,
                                  "r_since": pl.Datetime("us", "UTC")})
    if retract is not None and retract.height:
        rows.append(retract.select(batch.columns).with_columns(
            -pl.col("delta_on_hand"), -pl.col("delta_reserved"),
            pl.lit(None, pl.Int64).alias("absolute_on_hand"),
            pl.lit(-1, pl.Int64).alias("_w")))
        forced = (retract.filter(pl.col("absolute_on_hand").is_not_null())
                  .group_by(KEY).agg(pl.col("event_time").min().alias("r_since"))
                  .cast(forced.schema))
    b = sort_fold_order(pl.concat(rows))
    if b.is_empty():
        return state
    is_count = pl.col("absolute_on_hand").is_not_null()
    t = pl.col("event_time")
    per = b.group_by(KEY).agg(
        t.filter(is_count).max().alias("b_count_time"),
        t.filter(is_count).min().alias("b_first_count"),
        pl.col("absolute_on_hand").filter(is_count).last().alias("b_count_qty"),
        pl.col("delta_reserved").sum().alias("b_reserved"),
        t.filter(pl.col("_w") > 0).max().alias("b_last"),
        pl.col("_w").sum().cast(pl.Int64).alias("b_events"),
    )
    j = per.join(state, on=KEY, how="left").join(forced, on=KEY, how="left")
    # a count at or before events already folded (at the same instant a count comes first)
    late_count = (pl.col("b_first_count").is_not_null() & (
        pl.col("b_first_count") <= pl.col("last_event_time")).fill_null(False)) | \
        pl.col("r_since").is_not_null()
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
        parts.append(_refold(refold, batch, history, retract))
    changed = pl.concat(parts).select(list(STATE_SCHEMA)).cast(STATE_SCHEMA)
    keep = state.join(changed.select(KEY), on=KEY, how="anti")
    # a key whose only events were taken back has no position any more
    changed = changed.filter(pl.col("events") > 0)
    return pl.concat([keep.select(list(STATE_SCHEMA)).cast(STATE_SCHEMA), changed])


def _refold(keys: pl.DataFrame, batch: pl.DataFrame,
            history: pl.DataFrame | History | None,
            retract: pl.DataFrame | None) -> pl.DataFrame:
    """Keys whose batch holds a count earlier than events already folded (or lost a folded
    count): fold again from that count, over the key's history since it plus the batch."""
    if history is None:
        raise ValueError("a late cycle count needs the ledger history of its key")
    # a retracted count: the whole history of the key (the count before it is unknown here)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    want = keys.select(*KEY, pl.when(pl.col("r_since").is_not_null()).then(pl.lit(epoch))
                       .otherwise(pl.col("b_first_count")).alias("since"))
    if callable(history):
        hist = history(want)
    else:
        hist = history.join(want, on=KEY).filter(pl.col("event_time") >= pl.col("since")) \
            .drop("since")
    hist = hist.select(batch.columns)
    if retract is not None and retract.height:
        hist = hist.join(retract.select("event_key", *KEY), on=["event_key", *KEY],
                         how="anti")
    rows = canonical(pl.concat([hist, batch.join(want.select(KEY), on=KEY)]))
    fold = running(rows, presorted=True).group_by(KEY).agg(
        pl.col("on_hand").last().alias("_on_hand"),
        pl.col("event_time").filter(pl.col("absolute_on_hand").is_not_null()).max()
        .alias("_count"),
    )
    out = keys.join(fold, on=KEY, how="left")
    return out.select(
        *KEY, pl.col("_on_hand").fill_null(0).alias("on_hand"),
        (pl.col("reserved").fill_null(0) + pl.col("b_reserved")).alias("reserved"),
        pl.max_horizontal("last_event_time", "b_last").alias("last_event_time"),
        pl.when(pl.col("r_since").is_not_null()).then(pl.col("_count"))
        .otherwise(pl.max_horizontal("last_count_time", "_count")).alias("last_count_time"),
        (pl.col("events").fill_null(0) + pl.col("b_events")).alias("events"),
    )


def state_of(ledger: pl.DataFrame) -> pl.DataFrame:
    """The incremental state a full fold gives (for checks and for a first build)."""
    return positions(ledger).select(list(STATE_SCHEMA)).cast(STATE_SCHEMA)
