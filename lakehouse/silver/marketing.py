"""Marketing touches: e-mail webhook events, ad clicks and daily ad spend, in UTC event time."""

from __future__ import annotations

import polars as pl

from lakehouse.silver.frames import LINEAGE, event_date, lineage

EMAIL_COLUMNS = (
    "event_id", "event_type", "email", "event_time", "event_date", "campaign_id", "url",
    "user_agent", *LINEAGE,
)


def conform_email_events(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                         ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.select(
        pl.col("sg_event_id").alias("event_id"), pl.col("event").alias("event_type"), "email",
        pl.col("timestamp").alias("event_time"), event_date("timestamp"), "campaign_id", "url",
        pl.col("useragent").alias("user_agent"), *lineage())
    return rows, rows.clear()


CLICK_COLUMNS = (
    "click_id", "campaign_id", "ad_group", "network", "event_time", "event_date",
    "landing_page", "device_type", "cost", *LINEAGE,
)


def conform_ad_clicks(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.with_columns(pl.col("click_time").alias("event_time"),
                              event_date("click_time")).select(CLICK_COLUMNS)
    return rows, rows.clear()


SPEND_COLUMNS = (
    "spend_id", "date", "campaign_id", "network", "impressions", "clicks", "spend", *LINEAGE,
)


def conform_ad_spend(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                     ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.select(SPEND_COLUMNS)
    return rows, rows.clear()
