"""Publish the plan: read validated inputs, recommend, write ``gold/replenishment_recommendations``.

Every input is read at its validated pin (never a commit that did not pass its gate); an input
without one is an error that names the table, not an empty plan. The table is replaced whole:
a plan is a snapshot as of one day, with that day in ``as_of``.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.replenish.actions import ACTION_SCHEMA
from lakehouse.replenish.costs import Costs
from lakehouse.replenish.recommend import recommend_replenishment
from lakehouse.replenish.tables import TABLE
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import NotValidatedError, read_validated

INPUTS = {  # name -> (layer, table, columns read)
    "positions": ("gold", "inventory_positions",
                  ["product_id", "location_id", "on_hand", "reserved", "available_to_promise",
                   "inbound", "next_expected_date", "in_transit_out"]),
    "products": ("silver", "products", ["product_id", "category", "price", "cost",
                                        "supplier_id"]),
    "suppliers": ("silver", "suppliers", ["supplier_id", "lead_time_days"]),
    "purchase_orders": ("silver", "purchase_orders",
                        ["po_number", "supplier_id", "product_id", "location_id",
                         "ordered_qty", "promised_date", "ordered_at", "delivered_at",
                         "delivered_qty", "delay_days", "status"]),
    "locations": ("silver", "locations", ["location_code", "type", "zone",
                                          "ship_capacity_per_day"]),
    "shipping_rates": ("silver", "shipping_rates", ["from_zone", "to_zone", "service",
                                                    "cost", "days"]),
}
FORECAST = ("gold", "demand_forecast")


class MissingInputError(LookupError):
    """An input table has no validated version to read."""


def read_input(home: Home, layer: str, name: str,
               columns: list[str] | None = None) -> pl.DataFrame | None:
    """The table at its validated pin; None when it does not exist (its channel never
    delivered); an error when it exists but no version of it passed its gate."""
    try:
        return read_validated(table_uri(home, layer, name), columns)
    except NotValidatedError:
        raise MissingInputError(f"{layer}/{name} has no validated version: build it and let "
                                f"its quality gate pass before planning replenishment") from None


def latest_forecast(home: Home) -> pl.DataFrame:
    """The newest run (``as_of``) of the validated ``gold/demand_forecast``."""
    frame = read_input(home, *FORECAST)
    if frame is None:
        raise MissingInputError("gold/demand_forecast does not exist: publish the forecast "
                                "before planning replenishment")
    if "as_of" in frame.columns and frame.height:
        frame = frame.filter(pl.col("as_of") == pl.col("as_of").max())
    return frame


def publish_replenishment(home: Home | str | Path, forecast: pl.DataFrame | None = None, *,
                          as_of: date | None = None, costs: Costs | None = None) -> dict:
    """Recommend on the validated inputs and replace ``gold/replenishment_recommendations``.

    ``forecast`` defaults to the newest validated ``gold/demand_forecast``; ``as_of`` to the
    last closed business day of the validated ``gold/inventory_daily``. Returns uri, rows,
    version, seconds, orders, transfers and units (all actions, previews included)."""
    t0 = time.perf_counter()
    home = home if isinstance(home, Home) else Home.resolve(home)
    frames = {k: read_input(home, *spec) for k, spec in INPUTS.items()}
    fc = latest_forecast(home) if forecast is None else forecast
    daily = read_input(home, "gold", "inventory_daily", ["date"])
    if as_of is None and daily is not None:
        as_of = daily["date"].max()
    # a source that never delivered (no purchase orders yet, no catalog) leaves nothing to
    # plan from: an empty plan that says which, not a failed night
    missing = sorted(f"{spec[0]}/{spec[1]}" for k, spec in INPUTS.items() if frames[k] is None)
    if missing or as_of is None or fc.is_empty():
        plan = pl.DataFrame(schema=ACTION_SCHEMA)
    else:
        plan = recommend_replenishment(fc, frames["positions"], frames["products"],
                                       frames["suppliers"], frames["purchase_orders"],
                                       frames["locations"], frames["shipping_rates"], as_of,
                                       costs)
    plan = plan.with_columns(pl.lit(as_of, pl.Date).alias("as_of"))
    uri = table_uri(home, "gold", TABLE)
    version = replace_table(uri, plan)
    return {"uri": uri, "rows": plan.height, "version": version, "missing": missing,
            "seconds": round(time.perf_counter() - t0, 3),
            "orders": plan.filter(pl.col("action") == "order").height,
            "transfers": plan.filter(pl.col("action") == "transfer").height,
            "units": int(plan["quantity"].sum())}
