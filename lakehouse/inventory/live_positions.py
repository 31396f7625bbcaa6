"""Positions after one micro-batch (``live.py``): the fold state moved by the batch, then what
the fold does not hold (shrinkage, first and last event, in transit, at risk, inbound), each
read from history only for the (product, location) keys the batch touched.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable

from lakehouse.inventory.channels import shrinkage_rates
from lakehouse.inventory.fold import KEY, atp, positions
from lakehouse.inventory.inbound import inbound as inbound_of
from lakehouse.inventory.ledger_rows import LEDGER_SCHEMA
from lakehouse.inventory.ledger_table import LedgerTable

# what the positions table carries for the micro-batch path only (see ``with_live_columns``)
LIVE_COLUMNS = ("first_event_time", "shrinkage_rate")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def with_live_columns(pos: pl.DataFrame, ledger: pl.DataFrame) -> pl.DataFrame:
    """Positions plus what the micro-batch path needs: the key's first event time and its
    location's shrinkage rate (units lost per unit on hand per day)."""
    first = ledger.group_by(KEY).agg(pl.col("event_time").min().alias("first_event_time"))
    rates = shrinkage_rates(ledger)
    return (pos.join(first, on=KEY, how="left").join(rates, on="location_id", how="left")
            .with_columns(pl.col("shrinkage_rate").fill_null(0.0)))


def has_live_columns(uri: str) -> bool:
    """Whether the positions table at ``uri`` carries ``LIVE_COLUMNS`` (a full build wrote it)."""
    if not DeltaTable.is_deltatable(uri):
        return False
    names = set(pa.schema(DeltaTable(uri).schema().to_arrow()).names)
    return set(LIVE_COLUMNS) <= names


def history_reader(ledger: LedgerTable):
    """Key-indexed reader for ``apply_batch``: rows of some keys since a time, read only from
    the partitions from that time on."""
    def read(want: pl.DataFrame) -> pl.DataFrame:
        since = want["since"].min()
        day = None if since is None or since <= EPOCH else since.date() - timedelta(days=2)
        keys = want.select(KEY)
        rows = ledger.read(since=day, where=pl.col("product_id").is_in(
            keys["product_id"].unique().implode()))
        return rows.join(want, on=KEY).filter(pl.col("event_time") >= pl.col("since")) \
            .drop("since")
    return read


def batch_positions(old: pl.DataFrame, state: pl.DataFrame, added: pl.DataFrame,
                    retract: pl.DataFrame, purchase_orders: pl.DataFrame,
                    ledger: LedgerTable) -> pl.DataFrame:
    """The gold positions table after the batch, in the full build's shape."""
    cols = old.columns
    prev = old.select(*KEY, "on_hand", "shrinkage", "in_transit_out", *LIVE_COLUMNS,
                      pl.lit(True).alias("_had"))
    # shrinkage = on hand - (every delta) - (the opening count): move it by the batch's change
    sign = pl.concat([added.select(*KEY, "delta_on_hand", "event_time"),
                      retract.select(*KEY, (-pl.col("delta_on_hand")).alias("delta_on_hand"),
                                     "event_time")])
    moved = sign.group_by(KEY).agg(pl.col("delta_on_hand").sum().alias("_dt"),
                                   pl.col("event_time").min().alias("_min"))
    pos = (state.join(prev, on=KEY, how="left", suffix="_old")
           .join(moved, on=KEY, how="left")
           .with_columns(pl.col("_dt").fill_null(0)))
    first_changes = (pl.col("first_event_time").is_null()
                     | (pl.col("_min") <= pl.col("first_event_time")).fill_null(False))
    exact = pos.filter(pl.col("_min").is_not_null() & first_changes & pl.col("_had"))
    fresh = pos.filter(pl.col("_had").is_null()).select(KEY)
    pos = pos.with_columns(
        (pl.col("shrinkage").fill_null(0) + pl.col("on_hand")
         - pl.col("on_hand_old").fill_null(0) - pl.col("_dt")).alias("shrinkage"))
    again = []
    if exact.height:  # the key's opening may have changed: fold its whole history
        again.append(_key_positions(exact.select(KEY), added, retract, ledger))
    if fresh.height:  # a new key: all its rows are in the batch
        again.append(_key_positions(fresh, added, retract, None))
    if again:
        pos = pos.join(pl.concat(again), on=KEY, how="left").with_columns(
            pl.coalesce("_shrinkage", "shrinkage").alias("shrinkage"),
            pl.coalesce("_first", "first_event_time").alias("first_event_time"))
    pos = _last_event_after_loss(pos, added, retract, ledger)
    pos = _in_transit(pos, added, retract, ledger)
    # at risk: the location's rate (last full build) over days since the last count
    loc_rate = old.group_by("location_id").agg(pl.col("shrinkage_rate").drop_nulls().first()
                                               .alias("_rate"))
    now = pos["last_event_time"].max()
    since = pl.coalesce("last_count_time", "first_event_time")
    elapsed = pl.lit(now, pl.Datetime("us", "UTC")) - since
    days = (elapsed.dt.total_seconds() / 86400.0).clip(lower_bound=0.0)
    pos = (pos.with_columns(pl.col("shrinkage_rate").fill_null(
                pl.col("shrinkage_rate").drop_nulls().first().over("location_id")),
                pl.col("in_transit_out").fill_null(0))
           .with_columns(pl.col("shrinkage_rate").fill_null(0.0))
           .with_columns((pl.col("on_hand").clip(lower_bound=0) * pl.col("shrinkage_rate")
                          * days.fill_null(0.0)).alias("at_risk"), atp()))
    now_dt = now if isinstance(now, datetime) else None
    inb = inbound_of(purchase_orders, now_dt) if purchase_orders.height else pl.DataFrame()
    pos = pos.select([c for c in cols if c not in ("inbound", "next_expected_date")])
    if inb.height:
        pos = pos.join(inb, on=KEY, how="full", coalesce=True)
    else:
        pos = pos.with_columns(pl.lit(None, pl.Int64).alias("inbound"),
                               pl.lit(None, pl.Date).alias("next_expected_date"))
    # every row of a location carries its rate (keys only on order too)
    pos = pos.join(loc_rate, on="location_id", how="left").with_columns(
        pl.coalesce("shrinkage_rate", "_rate").fill_null(0.0).alias("shrinkage_rate"))
    pos = pos.with_columns(pl.col("on_hand", "reserved", "available_to_promise", "events",
                                  "shrinkage", "inbound", "in_transit_out").fill_null(0),
                           pl.col("at_risk").fill_null(0.0))
    return pos.select(cols).cast(old.schema).sort(KEY)


def _last_event_after_loss(pos: pl.DataFrame, added: pl.DataFrame, retract: pl.DataFrame,
                           ledger: LedgerTable) -> pl.DataFrame:
    """``last_event_time`` of keys whose latest row was taken back (a reservation moved to the
    warehouse that picked it): the latest row they still hold, from their recent history."""
    if retract.is_empty():
        return pos
    lost = retract.group_by(KEY).agg(pl.col("event_time").max().alias("_rmax"))
    kept = added.group_by(KEY).agg(pl.col("event_time").max().alias("_amax"))
    todo = (pos.select(*KEY, "last_event_time").join(lost, on=KEY)
            .join(kept, on=KEY, how="left")
            .filter((pl.col("last_event_time") <= pl.col("_rmax"))
                    & (pl.col("_amax").is_null() | (pl.col("_amax") < pl.col("_rmax")))))
    if todo.is_empty():
        return pos
    found = []
    for since in (todo["_rmax"].min().date() - timedelta(days=3), None):
        hist = ledger.read(since=since, where=pl.col("product_id").is_in(
            todo["product_id"].unique().implode()))
        hist = (hist.join(todo.select(KEY), on=KEY, how="semi")
                .join(retract.select("event_key", *KEY), on=["event_key", *KEY], how="anti"))
        rows = pl.concat([hist.select(*KEY, "event_time"),
                          added.join(todo.select(KEY), on=KEY, how="semi")
                          .select(*KEY, "event_time")])
        found.append(rows.group_by(KEY).agg(pl.col("event_time").max().alias("_last")))
        todo = todo.join(found[-1], on=KEY, how="anti")
        if todo.is_empty():
            break
    best = pl.concat(found).group_by(KEY).agg(pl.col("_last").max())
    return pos.join(best, on=KEY, how="left").with_columns(
        pl.coalesce("_last", "last_event_time").alias("last_event_time")).drop("_last")


TRANSIT_LOOKBACK_DAYS = 7  # a transfer is booked in within this many days of leaving


def _in_transit(pos: pl.DataFrame, added: pl.DataFrame, retract: pl.DataFrame,
                ledger: LedgerTable) -> pl.DataFrame:
    """``in_transit_out`` moved by the batch's transfer rows: a ``transfer_out`` adds its units
    at the origin until a ``transfer_in`` with the same reference books them in anywhere. The
    other leg of a reference is looked up in the partitions of the last
    ``TRANSIT_LOOKBACK_DAYS``."""
    kinds = ["transfer_out", "transfer_in"]
    moved = pl.concat([added, retract]).filter(pl.col("kind").is_in(kinds)
                                               & pl.col("reference").is_not_null())
    if moved.is_empty():
        return pos
    refs = moved["reference"].unique().implode()
    since = moved["event_time"].min().date() - timedelta(days=TRANSIT_LOOKBACK_DAYS)
    before = ledger.read(since=since, where=pl.col("kind").is_in(kinds)
                         & pl.col("reference").is_in(refs),
                         columns=["event_key", *KEY, "kind", "reference", "delta_on_hand"])
    after = pl.concat([before.join(retract.select("event_key"), on="event_key", how="anti"),
                       added.filter(pl.col("kind").is_in(kinds)).select(before.columns)]).unique(
        subset=["event_key"], keep="last")

    def open_units(rows: pl.DataFrame, sign: int) -> pl.DataFrame:
        booked = rows.filter(pl.col("kind") == "transfer_in").select("reference").unique()
        return (rows.filter(pl.col("kind") == "transfer_out")
                .join(booked, on="reference", how="anti")
                .group_by(KEY).agg((-pl.col("delta_on_hand") * sign).sum().alias("_u")))
    change = pl.concat([open_units(after, 1), open_units(before, -1)]).group_by(KEY).agg(
        pl.col("_u").sum().alias("_transit"))
    return pos.join(change, on=KEY, how="left").with_columns(
        (pl.col("in_transit_out").fill_null(0) + pl.col("_transit").fill_null(0))
        .alias("in_transit_out")).drop("_transit")


def _key_positions(keys: pl.DataFrame, added: pl.DataFrame, retract: pl.DataFrame,
                   ledger: LedgerTable | None) -> pl.DataFrame:
    """Shrinkage and first event of some keys from their whole history (rare: a batch row at
    or before a key's first event; ``ledger`` None: new keys, all rows in the batch)."""
    hist = pl.DataFrame(schema=LEDGER_SCHEMA) if ledger is None else ledger.read(
        where=pl.col("product_id").is_in(keys["product_id"].unique().implode()))
    hist = hist.join(keys, on=KEY, how="semi").join(retract.select("event_key"),
                                                    on="event_key", how="anti")
    rows = pl.concat([hist, added.join(keys, on=KEY, how="semi").select(hist.columns)])
    p = positions(rows).select(*KEY, pl.col("shrinkage").alias("_shrinkage"))
    first = rows.group_by(KEY).agg(pl.col("event_time").min().alias("_first"))
    return p.join(first, on=KEY, how="full", coalesce=True)
