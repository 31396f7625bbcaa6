"""The physical network: which warehouse can ship to which location, how fast and at what price.

Warehouses (``type = 'warehouse'``) buy from suppliers and ship; other locations are stocked by
transfers from a warehouse. A lane is priced with the cheapest service of the zone pair in
``shipping_rates`` (per parcel). Each location is *served by* the warehouse with the cheapest
lane to it (then the fastest, then by code), so a warehouse plans for its own demand plus that
of the locations it serves.
"""

from __future__ import annotations

import polars as pl


def location_table(locations: pl.DataFrame) -> pl.DataFrame:
    """location_id, is_warehouse, zone, capacity (parcels a day, 0 when unknown)."""
    return locations.select(
        pl.col("location_code").alias("location_id"),
        (pl.col("type") == "warehouse").alias("is_warehouse"),
        "zone",
        pl.col("ship_capacity_per_day").fill_null(0).cast(pl.Int64).alias("capacity"))


def lanes(locations: pl.DataFrame, shipping_rates: pl.DataFrame) -> pl.DataFrame:
    """origin_id (a warehouse), location_id (any other location), ship_cost, ship_days."""
    loc = location_table(locations)
    cheapest = (shipping_rates.sort("cost", "days")
                .group_by("from_zone", "to_zone", maintain_order=True)
                .agg(pl.col("cost").first().alias("ship_cost"),
                     pl.col("days").first().cast(pl.Int64).alias("ship_days")))
    wh = loc.filter("is_warehouse").select(pl.col("location_id").alias("origin_id"),
                                           pl.col("zone").alias("from_zone"))
    return (wh.join(loc.select("location_id", pl.col("zone").alias("to_zone")), how="cross")
            .filter(pl.col("origin_id") != pl.col("location_id"))
            .join(cheapest, on=["from_zone", "to_zone"], how="inner")
            .select("origin_id", "location_id", "ship_cost", "ship_days")
            .sort("location_id", "ship_cost", "ship_days", "origin_id"))


def serving_warehouse(locations: pl.DataFrame, shipping_rates: pl.DataFrame) -> pl.DataFrame:
    """location_id (a non-warehouse), origin_id, ship_cost, ship_days: its cheapest lane."""
    loc = location_table(locations)
    stores = loc.filter(~pl.col("is_warehouse")).select("location_id")
    return (lanes(locations, shipping_rates).join(stores, on="location_id", how="semi")
            .group_by("location_id", maintain_order=True).first())
