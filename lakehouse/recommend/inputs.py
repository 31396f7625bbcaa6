"""The validated gold and silver frames the re-ranking needs (each read at its quality pin).

Every reader returns None-free frames: a table with no validated pin yet reads as empty, so a
new lake recommends nothing rather than something unchecked.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl

from lakehouse.home import Home
from lakehouse.inventory.ledger_shop import zone_of_state
from lakehouse.recommend.quality import quality_scores
from lakehouse.storage.paths import table_uri
from lakehouse.storage.validations import read_validated


def _read(home: Home, layer: str, name: str, columns: dict[str, pl.DataType]) -> pl.DataFrame:
    frame = read_validated(table_uri(home, layer, name), list(columns))
    if frame is None:
        return pl.DataFrame(schema=columns)
    return frame.select(pl.col(c).cast(t) for c, t in columns.items())


def read_availability(home: Home) -> pl.DataFrame:
    """``gold/inventory_channel_availability``: sellable units per product, channel, location."""
    return _read(home, "gold", "inventory_channel_availability",
                 {"product_id": pl.String, "channel": pl.String, "location_id": pl.String,
                  "available_to_promise": pl.Int64, "sellable": pl.Int64})


def read_fulfilment(home: Home) -> pl.DataFrame:
    """``gold/inventory_fulfilment_options``: cost and days per product, zone and location."""
    return _read(home, "gold", "inventory_fulfilment_options",
                 {"product_id": pl.String, "zone": pl.String, "location_id": pl.String,
                  "sellable": pl.Int64, "shipping_cost": pl.Float64,
                  "delivery_days": pl.Int64})


def read_categories(home: Home) -> pl.DataFrame:
    """``product_id, category`` from the catalog."""
    return _read(home, "silver", "products",
                 {"product_id": pl.String, "category": pl.String}).unique("product_id")


def read_zones(home: Home) -> pl.DataFrame:
    """``person_id, zone``: the shipping zone of each person's profile state, the zone per state
    learnt from the carrier's shipments (``lakehouse.inventory.ledger_shop.zone_of_state``)."""
    profiles = _read(home, "gold", "customer_profiles",
                     {"person_id": pl.String, "state": pl.String})
    shipments = _read(home, "silver", "shipments", {"order_id": pl.String, "zone": pl.String})
    orders = _read(home, "silver", "orders", {"order_id": pl.String, "ship_state": pl.String})
    by_state = zone_of_state(shipments, orders)
    return (profiles.filter(pl.col("state").is_not_null())
            .join(by_state, left_on="state", right_on="ship_state")
            .select("person_id", "zone"))


def read_quality(home: Home, as_of: datetime | None = None) -> pl.DataFrame:
    """Shrunk rating and return rate per catalog product (``lakehouse.recommend.quality``),
    from reviews, returns and units sold (orders not cancelled, and till lines) before
    ``as_of`` (default: all)."""
    ts = pl.Datetime("us", "UTC")
    reviews = _read(home, "silver", "reviews",
                    {"product_id": pl.String, "rating": pl.Int64, "event_time": ts})
    returns = _read(home, "silver", "returns",
                    {"product_id": pl.String, "quantity": pl.Int64, "event_time": ts})
    lines = _read(home, "silver", "order_lines",
                  {"order_id": pl.String, "product_id": pl.String, "quantity": pl.Int64})
    orders = _read(home, "silver", "orders",
                   {"order_id": pl.String, "created_at": ts, "cancelled_at": ts})
    placed = orders.filter(pl.col("cancelled_at").is_null()).unique("order_id")
    shop = lines.join(placed, on="order_id").select(
        "product_id", "quantity", pl.col("created_at").alias("event_time"))
    till = _read(home, "silver", "pos_transaction_lines",
                 {"product_id": pl.String, "quantity": pl.Int64, "event_time": ts})
    sales = pl.concat([shop, till])
    if as_of is not None:
        reviews, returns, sales = (f.filter(pl.col("event_time") < as_of)
                                   for f in (reviews, returns, sales))
    products = sorted(set(read_categories(home)["product_id"]) | set(sales["product_id"]))
    return quality_scores(products, reviews, returns, sales)
