"""Shared builders for the inventory unit tests: ledger rows, frames and small reference data.

Imported by ``tests/unit/inventory/test_*.py`` (a plain module, not a conftest: the helpers are
functions, not fixtures)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from lakehouse.inventory.ledger_rows import LEDGER_SCHEMA, SilverInputs

T0 = datetime(2026, 1, 1, 7, tzinfo=UTC)
KINDS = ("receipt", "sale", "pick", "adjustment", "cycle_count", "reserve", "release")


def row(i: int, kind: str, minutes: int, qty: int, product: str = "P1",
        location: str = "WH01", reference: str | None = None) -> dict:
    """One ledger row ``minutes`` after ``T0`` (event key ``k<i>``)."""
    t = T0 + timedelta(minutes=minutes)
    d_oh = {"receipt": qty, "sale": -qty, "pick": -qty, "adjustment": -qty}.get(kind, 0)
    d_res = {"reserve": qty, "release": -qty, "pick": -qty}.get(kind, 0)
    return {"product_id": product, "location_id": location, "event_time": t,
            "business_day": (t - timedelta(hours=7)).date(), "source": "test",
            "source_event_id": f"e{i}", "event_key": f"k{i}", "kind": kind,
            "delta_on_hand": d_oh, "delta_reserved": d_res,
            "absolute_on_hand": qty if kind == "cycle_count" else None, "sequence": i,
            "reference": reference, "location_inferred": False, "arrived_at": None}


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=LEDGER_SCHEMA)


def ledger_of(evs: list[tuple]) -> pl.DataFrame:
    """Rows from ``(kind, minutes, qty, product, location)`` tuples."""
    return frame([row(i, k, m, q, p, loc) for i, (k, m, q, p, loc) in enumerate(evs)])


def cmp(df: pl.DataFrame) -> pl.DataFrame:
    """The comparable part of a positions / state frame."""
    return df.select("product_id", "location_id", "on_hand", "reserved").sort(
        "product_id", "location_id")


def silver(**frames: pl.DataFrame) -> SilverInputs:
    """``SilverInputs`` with the given frames, every other one empty."""
    names = SilverInputs.__dataclass_fields__
    return SilverInputs(**{n: frames.get(n, pl.DataFrame()) for n in names})


def locations() -> pl.DataFrame:
    """Two warehouses (east, west) and two stores."""
    return pl.DataFrame({
        "location_code": ["WH01", "WH02", "ST001", "ST002"],
        "type": ["warehouse", "warehouse", "store", "store"],
        "zone": ["NE", "W", "NE", "W"],
        "ship_capacity_per_day": [2, 10, 0, 0]})


def shipping_rates() -> pl.DataFrame:
    rows = []
    for a in ("NE", "W"):
        for b in ("NE", "W"):
            far = a != b
            rows.append((a, b, "standard", 9.99 if far else 4.99, 5 if far else 2))
            rows.append((a, b, "express", 19.99 if far else 12.99, 2 if far else 1))
    return pl.DataFrame(rows, schema={"from_zone": pl.String, "to_zone": pl.String,
                                      "service": pl.String, "cost": pl.Float64,
                                      "days": pl.Int64}, orient="row")
