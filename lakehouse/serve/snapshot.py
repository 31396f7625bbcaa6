"""What the inventory API serves, held in memory: one set of validated table versions, indexed
by product, so a lookup touches a few rows instead of folding the ledger.

Loaded from the tables at the pins of one registry read (so positions, ledger, locations and
rates are of the same validated step):

- ``gold/inventory_positions`` (nightly build and micro-batches): the position of every
  product x location, with ``sellable`` per channel added by ``channels.channel_availability``
  (the one allocation rule) and kept sorted by product with each product's row range;
- ``silver/locations``: channel routing (which channel sells from where), parcel nodes;
- ``silver/shipping_rates``: cost and transit days by zone and service;
- ``silver/inventory_ledger``: only the open online orders per location (the dispatch backlog,
  ``channels.open_orders``), read again only when the ledger's pin moves;
- ``silver/products``: the catalogue, so a listed product without stock is known (empty), not
  unknown (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path

import polars as pl

from lakehouse.inventory.channels import (
    ONLINE_CHANNELS,
    OPTION_ORDER,
    channel_availability,
    open_orders,
)
from lakehouse.inventory.fold import KEY

TABLES = {"positions": "gold/inventory_positions", "ledger": "silver/inventory_ledger",
          "locations": "silver/locations", "shipping_rates": "silver/shipping_rates",
          "products": "silver/products"}
# a position as ``lakehouse.inventory.availability`` returns it
POSITION = ("location_id", "on_hand", "reserved", "available_to_promise", "inbound",
            "next_expected_date", "in_transit_out", "last_event_time", "last_count_time",
            "at_risk")
ONLINE = (*ONLINE_CHANNELS, "online")  # "online" stands for "web", as in the Python API
TIME_FORMAT = "%Y-%m-%dT%H:%M:%S%.6f%:z"
BACKLOG_COLUMNS = ["reference", "location_id", "delta_reserved", "event_time"]


class NotServable(LookupError):
    """What a request needs is not in the validated tables (e.g. no locations yet)."""


@dataclass(frozen=True)
class Node:
    """A location that ships parcels: its zone, daily capacity and the orders queued there."""

    zone: str
    capacity: int
    backlog: int


@dataclass
class Snapshot:
    """The served tables at ``versions`` (``{"gold/inventory_positions": 12, ...}``)."""

    versions: dict[str, int]
    loaded_at: datetime
    rows: pl.DataFrame  # positions + sellable_<channel>, sorted by product and location
    ranges: dict[str, tuple[int, int]]  # product_id -> (offset, length) in ``rows``
    products: frozenset[str]  # every known product (with positions or in the catalogue)
    stores: tuple[str, ...] = ()
    locations: tuple[str, ...] = ()  # every location code
    backlog: dict[str, int] = field(default_factory=dict)  # open online orders per location
    nodes: dict[str, Node] = field(default_factory=dict)
    rates: dict[str, list[tuple[str, str, float, int]]] = field(default_factory=dict)

    @property
    def routed(self) -> bool:
        return bool(self.locations)

    def channels(self) -> list[str]:
        return [*ONLINE, "store", *self.stores]

    def positions(self, product_id: str, location: str | None = None) -> list[dict]:
        """Rows of one product (``POSITION`` columns and the ``sellable_*`` ones)."""
        offset, length = self.ranges.get(product_id, (0, 0))
        rows = self.rows.slice(offset, length).rows(named=True)
        return rows if location is None else [r for r in rows if r["location_id"] == location]

    def availability(self, product_id: str, channel: str | None = None,
                     location: str | None = None) -> list[dict]:
        """What ``lakehouse.inventory.availability(home, product_id, location, channel)``
        returns, as JSON-ready rows (times as ISO 8601 strings)."""
        rows = self.positions(product_id, location)
        if channel is None:
            return [{c: r[c] for c in POSITION} for r in rows]
        column, only = self.route(channel)
        return [{**{c: r[c] for c in POSITION}, "channel": channel, "sellable": r[column]}
                for r in rows if r[column] is not None
                and (only is None or r["location_id"] == only)]

    def route(self, channel: str) -> tuple[str, str | None]:
        """(the ``sellable_*`` column, the one location or None) a channel sells from; raises
        ``ValueError`` for a channel that sells from nowhere here (``channels()`` lists the
        ones that do)."""
        if not self.routed:
            raise NotServable("channel routing needs the locations table, which has no "
                              "validated version yet")
        if channel in ONLINE:
            return ("sellable_web" if channel == "online" else f"sellable_{channel}"), None
        if channel == "store":
            return "sellable_store", None
        if channel in self.locations and channel not in self.stores:
            raise ValueError(f"{channel!r} is a warehouse: it sells only through web and app")
        if channel not in self.stores:
            raise ValueError(f"unknown channel {channel!r}")
        return "sellable_store", channel

    def fulfilment(self, product_id: str, zone: str, quantity: int = 1,
                   service: str | None = None) -> list[dict]:
        """``channels.fulfilment_options`` for one product and zone, from the web channel's
        sellable here: the locations that ship parcels and can sell ``quantity``, by service,
        cheapest then fastest then location code (``rank`` 1 is the router's choice)."""
        if not self.nodes and not self.rates:
            raise NotServable("fulfilment needs the locations and shipping_rates tables, which "
                              "have no validated version yet")
        options = []
        for r in self.positions(product_id):
            node = self.nodes.get(r["location_id"])
            sellable = r["sellable_web"]
            if node is None or sellable is None or sellable < quantity:
                continue
            dispatch = node.backlog // node.capacity
            for from_zone, svc, cost, days in self.rates.get(zone, ()):
                if from_zone != node.zone or (service is not None and svc != service):
                    continue
                options.append({"location_id": r["location_id"], "service": svc,
                                "sellable": sellable, "shipping_cost": cost,
                                "transit_days": days, "backlog_orders": node.backlog,
                                "ship_capacity_per_day": node.capacity,
                                "dispatch_in_days": dispatch,
                                "delivery_days": dispatch + days})
        options.sort(key=itemgetter(*OPTION_ORDER))
        rank: dict[str, int] = {}
        for o in options:
            rank[o["service"]] = o["rank"] = rank.get(o["service"], 0) + 1
        return options


def _positions(positions: pl.DataFrame, locations: pl.DataFrame | None) -> pl.DataFrame:
    """Positions with one ``sellable_<channel>`` column per channel kind (null where that
    channel does not sell from the location), times as strings, sorted by product."""
    pos = positions.with_columns(
        *[pl.col(c).fill_null(0) for c in
          ("on_hand", "reserved", "available_to_promise", "inbound", "in_transit_out")],
        pl.col("at_risk").fill_null(0.0))
    sellable = [pl.lit(None, pl.Int64).alias(f"sellable_{c}") for c in (*ONLINE_CHANNELS,
                                                                      "store")]
    if locations is not None and locations.height:
        chan = channel_availability(pos, locations)
        store = pl.col("channel") == pl.col("location_id")
        by = (chan.filter(pl.col("channel").is_in(list(ONLINE_CHANNELS)) | store)
              .with_columns(pl.when(store).then(pl.lit("store")).otherwise("channel")
                            .alias("channel"))
              .pivot("channel", index=KEY, values="sellable", aggregate_function="first"))
        pos = pos.join(by.rename({c: f"sellable_{c}" for c in by.columns if c not in KEY}),
                       on=KEY, how="left")
        sellable = [e for e in sellable if e.meta.output_name() not in pos.columns]
    times = [pl.col(c).dt.to_string(TIME_FORMAT) for c in ("last_event_time",
                                                           "last_count_time")]
    return (pos.with_columns(*sellable, *times,
                             pl.col("next_expected_date").dt.to_string("%Y-%m-%d"))
            .select("product_id", *POSITION, *(f"sellable_{c}" for c in (*ONLINE_CHANNELS,
                                                                         "store")))
            .sort(KEY))


def _ranges(rows: pl.DataFrame) -> dict[str, tuple[int, int]]:
    runs = (rows.with_row_index("_i").group_by("product_id", maintain_order=True)
            .agg(pl.col("_i").first(), pl.len()))
    return {p: (int(i), int(n)) for p, i, n in runs.iter_rows()}


def backlog(ledger: pl.DataFrame | None) -> dict[str, int]:
    """``{location: open online orders}`` (``channels.open_orders``)."""
    if ledger is None or ledger.is_empty():
        return {}
    return dict(open_orders(ledger).iter_rows())


def _nodes(locations: pl.DataFrame, backlog: Mapping[str, int]) -> dict[str, Node]:
    cap = pl.col("ship_capacity_per_day").fill_null(0).cast(pl.Int64)
    ships = locations.filter(cap > 0).select("location_code", "zone", cap)
    return {code: Node(zone, capacity, backlog.get(code, 0))
            for code, zone, capacity in ships.iter_rows()}


def _rates(rates: pl.DataFrame) -> dict[str, list[tuple[str, str, float, int]]]:
    out: dict[str, list[tuple[str, str, float, int]]] = {}
    for from_zone, to_zone, service, cost, days in rates.select(
            "from_zone", "to_zone", "service", pl.col("cost").cast(pl.Float64),
            pl.col("days").cast(pl.Int64)).iter_rows():
        out.setdefault(to_zone, []).append((from_zone, service, cost, days))
    return out


def read_at(lake: Path, table: str, version: int | None,
            columns: list[str] | None = None) -> pl.DataFrame | None:
    """Table ``table`` under ``lake`` at ``version`` (None: not validated, nothing read)."""
    if version is None:
        return None
    return pl.read_delta(str(lake / table), version=version, columns=columns)


def load(lake: Path, pins: Mapping[str, int], previous: Snapshot | None = None) -> Snapshot:
    """The snapshot of the validated ``pins`` (one registry read); the ledger's backlog is
    taken from ``previous`` when the ledger's pin did not move."""
    versions = {t: int(pins[t]) for t in TABLES.values() if t in pins}
    positions = read_at(lake, TABLES["positions"], versions[TABLES["positions"]])
    assert positions is not None
    locations = read_at(lake, TABLES["locations"], versions.get(TABLES["locations"]))
    rates = read_at(lake, TABLES["shipping_rates"], versions.get(TABLES["shipping_rates"]))
    products = read_at(lake, TABLES["products"], versions.get(TABLES["products"]),
                       columns=["product_id"])
    ledger_version = versions.get(TABLES["ledger"])
    if previous is not None and previous.versions.get(TABLES["ledger"]) == ledger_version:
        queued = previous.backlog
    else:
        queued = backlog(read_at(lake, TABLES["ledger"], ledger_version, BACKLOG_COLUMNS))
    rows = _positions(positions, locations)
    known = set(rows["product_id"].unique().to_list())
    if products is not None:
        known |= set(products["product_id"].drop_nulls().to_list())
    snap = Snapshot(versions=versions, loaded_at=datetime.now(UTC), rows=rows,
                    ranges=_ranges(rows), products=frozenset(known), backlog=queued)
    if locations is not None and locations.height:
        kind = dict(locations.select("location_code", "type").iter_rows())
        snap.stores = tuple(sorted(c for c, t in kind.items() if t == "store"))
        snap.locations = tuple(sorted(kind))
        if rates is not None and rates.height:
            snap.nodes, snap.rates = _nodes(locations, queued), _rates(rates)
    return snap
