"""Tiny hand-made frames for the recommend unit tests (no simulator: each fact is visible)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from lakehouse.recommend.signals import INTERACTION_SCHEMA

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def signals(rows: list[tuple]) -> pl.DataFrame:
    """``(person, product, days before T0, kind[, channel, location])`` -> interactions."""
    out = []
    for r in rows:
        person, product, days, kind = r[:4]
        channel = r[4] if len(r) > 4 else "web"
        location = r[5] if len(r) > 5 else None
        out.append((person, product, T0 - timedelta(days=days), kind, channel, location, 1))
    return pl.DataFrame(out, schema=INTERACTION_SCHEMA, orient="row")


def availability(units: dict[tuple[str, str], int]) -> pl.DataFrame:
    """``{(product, channel): sellable}`` -> channel availability rows (one location each)."""
    return pl.DataFrame(
        [(p, c, "WH01" if c in ("web", "app") else c, u, u) for (p, c), u in units.items()],
        schema={"product_id": pl.String, "channel": pl.String, "location_id": pl.String,
                "available_to_promise": pl.Int64, "sellable": pl.Int64}, orient="row")


def fulfilment(options: dict[tuple[str, str], tuple[float, int]]) -> pl.DataFrame:
    """``{(product, zone): (cost, days)}`` -> fulfilment option rows."""
    return pl.DataFrame(
        [(p, z, "WH01", 5, c, d) for (p, z), (c, d) in options.items()],
        schema={"product_id": pl.String, "zone": pl.String, "location_id": pl.String,
                "sellable": pl.Int64, "shipping_cost": pl.Float64, "delivery_days": pl.Int64},
        orient="row")


def quality(values: dict[str, float]) -> pl.DataFrame:
    return pl.DataFrame({"product_id": list(values), "quality": list(values.values())})
