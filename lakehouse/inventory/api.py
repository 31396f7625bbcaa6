"""The one access point for stock: ``availability`` answers every consumer (models, web, app,
stores) from the ledger, current or as of any past instant.

Channels: web and app sell from the warehouses (online orders ship from them); a store sells its
own shelf. ``channel`` may be ``"web"``, ``"app"``, ``"online"``, ``"store"`` or a location
code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import polars as pl

from lakehouse.inventory.fold import KEY, positions
from lakehouse.inventory.inbound import inbound as inbound_of
from lakehouse.inventory.ledger import SilverInputs, build_ledger, read_silver

ONLINE = ("web", "app", "online")


@dataclass(frozen=True)
class Inventory:
    """A ledger with the reference data availability needs."""

    ledger: pl.DataFrame
    purchase_orders: pl.DataFrame
    locations: pl.DataFrame

    @classmethod
    def from_silver(cls, inp: SilverInputs) -> Inventory:
        return cls(build_ledger(inp), inp.purchase_orders, inp.locations)

    @classmethod
    def load(cls, home: str | Path) -> Inventory:
        """From the ledger table if one was written (``H/lake/silver/inventory_ledger``),
        else built from silver."""
        inp = read_silver(home)
        path = Path(home) / "lake" / "silver" / "inventory_ledger"
        if (path / "_delta_log").exists():
            return cls(pl.read_delta(str(path)), inp.purchase_orders, inp.locations)
        return cls.from_silver(inp)


def availability(source: str | Path | Inventory | pl.DataFrame,
                 product_ids: list[str] | str | None = None,
                 location: str | list[str] | None = None,
                 channel: str | None = None,
                 as_of: datetime | date | None = None) -> pl.DataFrame:
    """``product_id, location_id, on_hand, reserved, available_to_promise, inbound,
    next_expected_date, last_event_time`` per product x location (canonical ids).

    ``source``: a lakehouse home, an ``Inventory`` or a bare ledger frame (no inbound, no
    channel routing). ``as_of`` reads the past in event time (a date means its end, UTC)."""
    inv = source if isinstance(source, Inventory) else (
        Inventory(source, pl.DataFrame(), pl.DataFrame()) if isinstance(source, pl.DataFrame)
        else Inventory.load(source))
    when = _instant(as_of)
    pos = positions(inv.ledger, when)
    now = when if when is not None or inv.ledger.is_empty() else inv.ledger["event_time"].max()
    inb = inbound_of(inv.purchase_orders, now) if inv.purchase_orders.height else None
    if inb is not None and inb.height:
        pos = pos.join(inb, on=KEY, how="full", coalesce=True)
    else:
        pos = pos.with_columns(pl.lit(None, pl.Int64).alias("inbound"),
                               pl.lit(None, pl.Date).alias("next_expected_date"))
    pos = pos.with_columns(
        *[pl.col(c).fill_null(0) for c in
          ("on_hand", "reserved", "available_to_promise", "inbound")])
    locs = _channel_locations(inv.locations, channel)
    if locs is not None:
        pos = pos.filter(pl.col("location_id").is_in(locs))
    if location is not None:
        pos = pos.filter(pl.col("location_id").is_in(
            [location] if isinstance(location, str) else list(location)))
    if product_ids is not None:
        pos = pos.filter(pl.col("product_id").is_in(
            [product_ids] if isinstance(product_ids, str) else list(product_ids)))
    out = pos.select("product_id", "location_id", "on_hand", "reserved",
                     "available_to_promise", "inbound", "next_expected_date",
                     "last_event_time").sort(KEY)
    if channel is not None:
        out = out.with_columns(pl.lit(channel).alias("channel"))
    return out


def _channel_locations(locations: pl.DataFrame, channel: str | None) -> list[str] | None:
    if channel is None:
        return None
    if locations.is_empty():
        raise ValueError("channel routing needs the locations table")
    kind = {"store": "store", **dict.fromkeys(ONLINE, "warehouse")}.get(channel)
    if kind is not None:
        return locations.filter(pl.col("type") == kind)["location_code"].to_list()
    codes = locations["location_code"].to_list()
    if channel not in codes:
        raise ValueError(f"unknown channel {channel!r}: web, app, online, store or one of "
                         f"{codes}")
    return [channel]


def _instant(as_of: datetime | date | None) -> datetime | None:
    from datetime import UTC

    if as_of is None or isinstance(as_of, datetime):
        return as_of
    return datetime.combine(as_of, time.max, tzinfo=UTC)
