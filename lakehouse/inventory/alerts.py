"""Negative-stock ("phantom") alerts, raised only once the watermark has passed.

The fold is in event time, so a receipt that arrives after the sale it funded (but happened
before it) never shows negative stock: no alert. A dip below zero is alerted only when it began
before the watermark (by then every event that could explain it should have arrived); a dip
after the watermark is ``pending`` and may still be fixed by a late event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from lakehouse.inventory.fold import KEY, running
from lakehouse.inventory.ledger import canonical

TS = pl.Datetime("us", "UTC")
ALERT_SCHEMA = {"product_id": pl.String, "location_id": pl.String, "since": TS, "until": TS,
                "min_on_hand": pl.Int64, "trigger_event": pl.String, "trigger_kind": pl.String,
                "trigger_source": pl.String, "events": pl.List(pl.String),
                "last_count_event": pl.String, "status": pl.String}


def default_watermark(ledger: pl.DataFrame, lateness: timedelta) -> datetime | None:
    """Latest arrival (or event time where arrival is unknown) minus the allowed lateness."""
    if ledger.is_empty():
        return None
    seen = ledger.select(pl.coalesce("arrived_at", "event_time").max()).item()
    return seen - lateness


def phantom_alerts(ledger: pl.DataFrame, watermark: datetime | None = None,
                   lateness: timedelta = timedelta(days=3), include_pending: bool = False
                   ) -> pl.DataFrame:
    """One row per negative-stock episode of a product x location: ``since`` (event that took
    it below zero), ``until`` (event that restored it, null if still negative), ``min_on_hand``,
    ``trigger_event`` / ``trigger_kind`` / ``trigger_source``, ``events`` (every event key in
    the episode), ``last_count_event`` (the reset it started from) and ``status``
    (``alert`` or ``pending``)."""
    wm = watermark if watermark is not None else default_watermark(ledger, lateness)
    run = running(canonical(ledger), presorted=True)
    if run.is_empty():
        return pl.DataFrame(schema=ALERT_SCHEMA)
    neg = pl.col("on_hand") < 0
    count_key = pl.when(pl.col("absolute_on_hand").is_not_null()).then(pl.col("event_key"))
    run = run.with_columns(
        (neg & ~neg.shift(1, fill_value=False).over(KEY)).cast(pl.Int64).cum_sum().over(KEY)
        .alias("_ep"),
        count_key.forward_fill().over(KEY).alias("_count"),
        neg.alias("_neg"),
    )
    # the event that ends an episode belongs to it (it names the fix)
    ended = run.with_columns(pl.col("_neg").shift(1, fill_value=False).over(KEY).alias("_prev"))
    rows = ended.filter(pl.col("_neg") | pl.col("_prev"))
    ep = rows.group_by(*KEY, "_ep").agg(
        pl.col("event_time").filter(pl.col("_neg")).first().alias("since"),
        pl.col("event_time").filter(~pl.col("_neg")).first().alias("until"),
        pl.col("on_hand").min().alias("min_on_hand"),
        pl.col("event_key").filter(pl.col("_neg")).first().alias("trigger_event"),
        pl.col("kind").filter(pl.col("_neg")).first().alias("trigger_kind"),
        pl.col("source").filter(pl.col("_neg")).first().alias("trigger_source"),
        pl.col("event_key").alias("events"),
        pl.col("_count").filter(pl.col("_neg")).first().alias("last_count_event"),
    ).filter(pl.col("since").is_not_null())
    status = pl.when(pl.col("since") <= wm).then(pl.lit("alert")).otherwise(pl.lit("pending")) \
        if wm is not None else pl.lit("pending")
    ep = ep.with_columns(status.alias("status")).drop("_ep").sort(*KEY, "since")
    return ep if include_pending else ep.filter(pl.col("status") == "alert")
