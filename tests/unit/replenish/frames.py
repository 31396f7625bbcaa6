"""Tiny hand-made inputs for the replenishment unit tests: two warehouses (W1 in zone A, W2 in
zone B) and a store S1 in zone A, one supplier, one product."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

AS_OF = date(2026, 3, 1)


def locations(capacity: int = 100) -> pl.DataFrame:
    return pl.DataFrame({"location_code": ["W1", "W2", "S1"],
                         "type": ["warehouse", "warehouse", "store"],
                         "zone": ["A", "B", "A"],
                         "ship_capacity_per_day": [capacity, capacity, 0]})


def shipping_rates() -> pl.DataFrame:
    rows = [("A", "A", "standard", 5.0, 2), ("A", "A", "express", 12.0, 1),
            ("A", "B", "standard", 9.0, 3), ("B", "A", "standard", 9.0, 3),
            ("B", "B", "standard", 5.0, 2)]
    return pl.DataFrame(rows, schema=["from_zone", "to_zone", "service", "cost", "days"],
                        orient="row")


def products(price: float = 30.0, cost: float = 10.0) -> pl.DataFrame:
    return pl.DataFrame({"product_id": ["P1"], "category": ["c"], "price": [price],
                         "cost": [cost], "supplier_id": ["SUP1"]})


def suppliers(lead: int = 5) -> pl.DataFrame:
    return pl.DataFrame({"supplier_id": ["SUP1"], "lead_time_days": [lead]})


def purchase_orders(leads: list[int], supplier: str = "SUP1",
                    delivered: list[int] | None = None, ordered: int = 10) -> pl.DataFrame:
    """Delivered orders of ``supplier`` that took ``leads`` days (and brought ``delivered``)."""
    t0 = datetime(2026, 1, 5, 8, tzinfo=UTC)
    n = len(leads)
    return pl.DataFrame({
        "po_number": [f"PO{i}" for i in range(n)], "supplier_id": [supplier] * n,
        "product_id": ["P1"] * n, "location_id": ["W1"] * n, "ordered_qty": [ordered] * n,
        "promised_date": [(t0 + timedelta(days=5)).date()] * n,
        "ordered_at": [t0] * n,
        "delivered_at": [t0 + timedelta(days=lead, hours=1) for lead in leads],
        "delivered_qty": delivered or [ordered] * n,
        "delay_days": [lead - 5 for lead in leads], "status": ["delivered"] * n,
    }, schema_overrides={"ordered_at": pl.Datetime("us", "UTC"),
                         "delivered_at": pl.Datetime("us", "UTC"), "promised_date": pl.Date,
                         **dict.fromkeys(["po_number", "supplier_id", "product_id",
                                          "location_id", "status"], pl.String),
                         **dict.fromkeys(["ordered_qty", "delivered_qty", "delay_days"],
                                         pl.Int64)})


def positions(atp: dict[str, int], inbound: dict[str, int] | None = None) -> pl.DataFrame:
    inbound = inbound or {}
    locs = sorted(atp)
    return pl.DataFrame({
        "product_id": ["P1"] * len(locs), "location_id": locs,
        "on_hand": [atp[x] for x in locs], "reserved": [0] * len(locs),
        "available_to_promise": [atp[x] for x in locs],
        "inbound": [inbound.get(x, 0) for x in locs],
        "next_expected_date": [None] * len(locs), "in_transit_out": [0] * len(locs),
    }, schema_overrides={"next_expected_date": pl.Date})


def forecast(rates: dict[str, float], days: int = 28, start: date = AS_OF) -> pl.DataFrame:
    """A flat forecast: ``rates[location]`` units a day, Poisson-wide 80 % bound."""
    rows = [("P1", loc, start + timedelta(days=k), r, r + 1.2816 * r ** 0.5)
            for loc, r in rates.items() for k in range(1, days + 1)]
    return pl.DataFrame(rows, schema=["product_id", "location_id", "date", "mean", "hi_80"],
                        orient="row")
