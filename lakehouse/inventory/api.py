"""The one access point for stock: ``availability`` answers every consumer (models, web, app,
stores) from the ledger, current or as of any past instant; ``fulfilment`` says which
locations can ship a product to a shipping zone, at what cost, in how many days.

Channels (the allocation rule is in ``channels.py``): ``web`` and ``app`` sell the
warehouses' stock as one shared pool, less a shrinkage safety buffer; a store sells its own
shelf. ``channel`` may be ``"web"``, ``"app"``, ``"online"`` (= web), ``"store"`` (every
store) or a location code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path

import polars as pl

from lakehouse.inventory.channels import (
    ONLINE_CHANNELS,
    channel_availability,
    fulfilment_options,
    with_at_risk,
)
from lakehouse.inventory.fold import KEY, positions
from lakehouse.inventory.inbound import inbound as inbound_of
from lakehouse.inventory.inbound import transfers_in_transit
from lakehouse.inventory.ledger import build_ledger, read_silver
from lakehouse.inventory.ledger_rows import SilverInputs
from lakehouse.storage.objects import lake_root
from lakehouse.storage.validations import read_validated

ONLINE = (*ONLINE_CHANNELS, "online")


@dataclass(frozen=True)
class Inventory:
    """A ledger with the reference data availability needs."""

    ledger: pl.DataFrame
    purchase_orders: pl.DataFrame
    locations: pl.DataFrame
    shipping_rates: pl.DataFrame = field(default_factory=pl.DataFrame)
    movements: pl.DataFrame = field(default_factory=pl.DataFrame)

    @classmethod
    def from_silver(cls, inp: SilverInputs, ledger: pl.DataFrame | None = None) -> Inventory:
        return cls(build_ledger(inp) if ledger is None else ledger, inp.purchase_orders,
                   inp.locations, inp.shipping_rates, inp.movements)

    @classmethod
    def load(cls, home: str | Path) -> Inventory:
        """From the ledger table if one was written (``H/lake/silver/inventory_ledger``),
        else built from silver; every table at its validated pin."""
        inp = read_silver(home)
        ledger = read_validated(lake_root(Path(home) / "lake") / "silver" / "inventory_ledger")
        return cls.from_silver(inp, ledger)


def _inventory(source: str | Path | Inventory | pl.DataFrame) -> Inventory:
    if isinstance(source, Inventory):
        return source
    if isinstance(source, pl.DataFrame):
        return Inventory(source, pl.DataFrame(), pl.DataFrame())
    return Inventory.load(source)


def availability(source: str | Path | Inventory | pl.DataFrame,
                 product_ids: list[str] | str | None = None,
                 location: str | list[str] | None = None,
                 channel: str | None = None,
                 as_of: datetime | date | None = None) -> pl.DataFrame:
    """``product_id, location_id, on_hand, reserved, available_to_promise, inbound,
    next_expected_date, in_transit_out, last_event_time, last_count_time, at_risk`` per
    product x location (canonical ids); with ``channel``, only the locations that channel
    sells from, plus ``channel`` and ``sellable`` (what it may sell there).

    ``source``: a lakehouse home, an ``Inventory`` or a bare ledger frame (no inbound, no
    channel routing). ``as_of`` reads the past in event time (a date means its end, UTC)."""
    inv = _inventory(source)
    when = _instant(as_of)
    pos = positions(inv.ledger, when)
    now = when if when is not None or inv.ledger.is_empty() else inv.ledger["event_time"].max()
    pos = with_at_risk(pos, inv.ledger, now, when)
    inb = inbound_of(inv.purchase_orders, now) if inv.purchase_orders.height else None
    if inb is not None and inb.height:
        pos = pos.join(inb, on=KEY, how="full", coalesce=True)
    else:
        pos = pos.with_columns(pl.lit(None, pl.Int64).alias("inbound"),
                               pl.lit(None, pl.Date).alias("next_expected_date"))
    transit = transfers_in_transit(inv.movements, when)
    pos = pos.join(transit.select(*KEY, "in_transit_out"), on=KEY, how="full", coalesce=True)
    pos = pos.with_columns(
        *[pl.col(c).fill_null(0) for c in
          ("on_hand", "reserved", "available_to_promise", "inbound", "in_transit_out")],
        pl.col("at_risk").fill_null(0.0))
    if location is not None:
        pos = pos.filter(pl.col("location_id").is_in(
            [location] if isinstance(location, str) else list(location)))
    if product_ids is not None:
        pos = pos.filter(pl.col("product_id").is_in(
            [product_ids] if isinstance(product_ids, str) else list(product_ids)))
    cols = ["product_id", "location_id", "on_hand", "reserved", "available_to_promise",
            "inbound", "next_expected_date", "in_transit_out", "last_event_time",
            "last_count_time", "at_risk"]
    out = pos.select(cols).sort(KEY)
    if channel is None:
        return out
    if inv.locations.is_empty():
        raise ValueError("channel routing needs the locations table")
    routes = _channels(inv.locations, channel)
    by = channel_availability(out, inv.locations, routes).select(
        *KEY, "channel", "sellable")
    return out.join(by, on=KEY, how="inner").with_columns(
        pl.lit(channel).alias("channel")).unique(subset=KEY, keep="first").sort(KEY)


def fulfilment(source: str | Path | Inventory, zone: str | list[str] | None = None,
               product_ids: list[str] | str | None = None, quantity: int = 1,
               service: str | None = None, as_of: datetime | date | None = None
               ) -> pl.DataFrame:
    """Fulfilment options by shipping zone: which locations can ship ``quantity`` units of
    each product to ``zone`` (all zones if None), by ``service`` (standard / express), at what
    shipping cost and in how many days, within their daily ship capacity (see
    ``channels.fulfilment_options``; ``rank`` 1 is the one the order router takes)."""
    inv = _inventory(source)
    if inv.locations.is_empty() or inv.shipping_rates.is_empty():
        raise ValueError("fulfilment options need the locations and shipping_rates tables")
    web = availability(inv, product_ids=product_ids, channel="web", as_of=as_of)
    return fulfilment_options(web, inv.ledger, inv.locations, inv.shipping_rates, zone,
                              quantity, service, _instant(as_of))


def _channels(locations: pl.DataFrame, channel: str) -> list[str]:
    """The channels of ``channel_of`` a requested channel stands for."""
    stores = locations.filter(pl.col("type") == "store")["location_code"].to_list()
    if channel in ONLINE:
        return ["web" if channel == "online" else channel]
    if channel == "store":
        return stores
    codes = locations["location_code"].to_list()
    if channel not in codes:
        raise ValueError(f"unknown channel {channel!r}: web, app, online, store or one of "
                         f"{codes}")
    if channel not in stores:
        raise ValueError(f"{channel!r} is a warehouse: it sells only through web and app")
    return [channel]


def _instant(as_of: datetime | date | None) -> datetime | None:
    from datetime import UTC

    if as_of is None or isinstance(as_of, datetime):
        return as_of.replace(tzinfo=UTC) if as_of is not None and as_of.tzinfo is None \
            else as_of
    return datetime.combine(as_of, time.max, tzinfo=UTC)
