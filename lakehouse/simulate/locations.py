"""Stores and warehouses with shipping zones, time zones, ship capacity and shipping rates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from lakehouse.simulate import names
from lakehouse.simulate.config import SimConfig
from lakehouse.simulate.dice import Dice


@dataclass
class Location:
    code: str
    kind: str  # store | warehouse
    name: str
    state: str
    zone: str
    tz: str
    capacity: int  # parcels per day
    opened_on: dt.date
    registers: int


@dataclass(frozen=True)
class Rate:
    rate_id: str
    from_zone: str
    to_zone: str
    service: str
    cost: float
    days: int


def zone_distance(a: str, b: str) -> int:
    pa, pb = names.ZONE_POS[a], names.ZONE_POS[b]
    return abs(pa[0] - pb[0]) + abs(pa[1] - pb[1])


def build_locations(cfg: SimConfig, d: Dice) -> list[Location]:
    """Warehouses first (indices 0..W-1), then stores; capacity scales with the population."""
    locs = []
    cap = max(10, cfg.persons // 80)  # parcels/day: binds on busy days, orders then wait
    for i in range(cfg.warehouses):
        city, state, _, tz, zone = names.WAREHOUSE_CITIES[i % len(names.WAREHOUSE_CITIES)]
        locs.append(Location(f"WH{i + 1:02d}", "warehouse", f"{city} DC", state, zone, tz,
                             cap, dt.date(2019, 3, 1) + dt.timedelta(days=d.below(900)), 0))
    # stores spread over distinct cities first
    order = [0, 5, 12, 6, 10, 3, 8, 1, 13, 7, 14, 4, 11, 2, 9, 15]
    for i in range(cfg.stores):
        city, state, _, tz, zone = names.CITIES[order[i % len(order)]]
        suffix = "" if i < len(order) else f" {i // len(order) + 1}"
        locs.append(Location(f"ST{i + 1:03d}", "store", f"{city} Store{suffix}", state, zone,
                             tz, 0, dt.date(2015, 1, 1) + dt.timedelta(days=d.below(3000)),
                             d.between(2, 6)))
    return locs


def build_rates() -> list[Rate]:
    rates = []
    for a in names.ZONES:
        for b in names.ZONES:
            dist = zone_distance(a, b)
            rates.append(Rate(f"R-{a}-{b}-STD", a, b, "standard", round(4.99 + 1.25 * dist, 2),
                              2 + dist // 2))
            rates.append(Rate(f"R-{a}-{b}-EXP", a, b, "express", round(12.99 + 2.5 * dist, 2),
                              1 + dist // 4))
    return rates
