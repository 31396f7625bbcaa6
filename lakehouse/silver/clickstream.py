"""Web and app clickstream in one schema: one vocabulary, UTC event time, canonical product.

The app's device clock can be wrong (by minutes, hours or days), so its event time is replaced
by the collector's receive time when the device claims a time after receipt, or more than
``max_offline`` before it; ``event_time_source`` says which clock the row carries. Events that
were genuinely queued offline for up to ``max_offline`` keep their device time.
"""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from lakehouse.silver.frames import LINEAGE, UTC_US, event_date, lineage, opt
from lakehouse.silver.products import map_product

# A device time this far after receipt is a wrong clock, not network jitter.
MAX_AHEAD = timedelta(minutes=1)
MAX_OFFLINE = timedelta(hours=12)
EVENT_TYPES = {"screen_view": "page_view"}  # app names -> the web vocabulary

COLUMNS = (
    "event_id", "channel", "event_type", "event_time", "event_time_source", "event_date",
    "received_at", "anonymous_id", "session_id", "login_id", "product_id", "variant_id",
    "quantity", "search_query", "order_id", "page", "referrer", "utm_source", "utm_medium",
    "utm_campaign", "click_id", "campaign_id", "consent", "push_opt_in", "platform",
    "app_version", "user_agent", *LINEAGE,
)


def conform_web_events(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                       ) -> tuple[pl.DataFrame, pl.DataFrame]:
    s = pl.String()
    rows = frame.select(
        pl.col("event_id"), pl.lit("web").alias("channel"), pl.col("event_type"),
        pl.col("ts").alias("event_time"), pl.lit("client").alias("event_time_source"),
        event_date("ts"), pl.lit(None, UTC_US).alias("received_at"),
        pl.col("cookie_id").alias("anonymous_id"), pl.col("session_id"),
        pl.col("user_id").alias("login_id"), pl.col("variant_id"), pl.col("quantity"),
        pl.col("search_query"), pl.col("order_id"), pl.col("page_url").alias("page"),
        pl.col("referrer"), pl.col("utm_source"), pl.col("utm_medium"), pl.col("utm_campaign"),
        pl.col("gclid").alias("click_id"), pl.col("utm_campaign").alias("campaign_id"),
        opt(frame, "consent", s).alias("consent"),
        pl.lit(None, pl.Boolean).alias("push_opt_in"), pl.lit(None, s).alias("platform"),
        pl.lit(None, s).alias("app_version"), pl.col("user_agent"), *lineage(),
    )
    good, bad = map_product(rows, crosswalk, system="web", code="variant_id", channel="web",
                            entity="events")
    return good.select(COLUMNS), bad


def app_event_time(max_ahead: timedelta = MAX_AHEAD,
                   max_offline: timedelta = MAX_OFFLINE) -> tuple[pl.Expr, pl.Expr]:
    """(event_time, event_time_source) of an app event from its device and receive times."""
    lag = pl.col("receivedTimestamp") - pl.col("eventTimestamp")
    skewed = (lag < -max_ahead) | (lag > max_offline)
    time = pl.when(skewed).then(pl.col("receivedTimestamp")).otherwise(pl.col("eventTimestamp"))
    source = pl.when(skewed).then(pl.lit("received")).otherwise(pl.lit("device"))
    return time.alias("event_time"), source.alias("event_time_source")


def conform_app_events(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                       ) -> tuple[pl.DataFrame, pl.DataFrame]:
    s = pl.String()
    time, source = app_event_time()
    rows = frame.select(
        pl.col("eventId").alias("event_id"), pl.lit("app").alias("channel"),
        pl.col("eventName").replace(EVENT_TYPES).alias("event_type"), time, source,
        time.dt.date().alias("event_date"), pl.col("receivedTimestamp").alias("received_at"),
        pl.col("deviceId").alias("anonymous_id"), pl.col("sessionId").alias("session_id"),
        pl.col("userId").alias("login_id"), pl.col("variantId").alias("variant_id"),
        pl.col("quantity"), pl.col("searchTerm").alias("search_query"),
        pl.col("orderId").alias("order_id"), pl.col("screenName").alias("page"),
        pl.lit(None, s).alias("referrer"), pl.lit(None, s).alias("utm_source"),
        pl.lit(None, s).alias("utm_medium"), pl.lit(None, s).alias("utm_campaign"),
        pl.lit(None, s).alias("click_id"), pl.col("campaignId").alias("campaign_id"),
        pl.lit(None, s).alias("consent"),
        opt(frame, "pushOptIn", pl.Boolean()).alias("push_opt_in"), pl.col("platform"),
        pl.col("appVersion").alias("app_version"), pl.lit(None, s).alias("user_agent"),
        *lineage(),
    )
    good, bad = map_product(rows, crosswalk, system="web", code="variant_id", channel="app",
                            entity="events", field="variantId")
    return good.select(COLUMNS), bad
