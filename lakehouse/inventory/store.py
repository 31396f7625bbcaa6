"""Inventory over the lakehouse home: silver in, the ledger and what is read from it out.

Tables: ``H/lake/silver/inventory_ledger`` (one row per stock-affecting event) and, under
``H/lake/gold/``, ``inventory_positions`` (now, with inbound, transfers in transit and the
shrinkage at risk), ``inventory_daily`` (close of each business day, the grain forecasting
needs), ``inventory_alerts`` (phantom negative stock past the watermark),
``inventory_discrepancies`` (where systems disagree, and the likely cause),
``inventory_days_of_cover``, ``inventory_channel_availability`` (what web, app and each store
may sell, by the allocation rule of ``channels.py``) and ``inventory_fulfilment_options`` (per
product and shipping zone: which warehouses can ship it, cost, days, within capacity).

A full rebuild per batch run (nightly). The micro-batch path is ``live.apply_micro_batch``: it
merges one silver batch into the ledger and updates ``inventory_positions`` and
``inventory_channel_availability`` incrementally (cost grows with the batch); the daily
snapshots, alerts, discrepancies, days of cover and fulfilment options stay nightly.

The ledger is partitioned by ``business_day`` so a micro-batch reads only the days it touches.
``inventory_positions`` carries two columns for the micro-batch path: ``first_event_time``
(the key's first event) and ``shrinkage_rate`` (its location's rate, from the last full build).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from lakehouse.home import Home
from lakehouse.inventory.alerts import phantom_alerts
from lakehouse.inventory.api import Inventory, availability
from lakehouse.inventory.channels import (
    CHANNEL_SCHEMA,
    FULFILMENT_SCHEMA,
    channel_availability,
    fulfilment_options,
)
from lakehouse.inventory.daily import daily_positions, days_of_cover
from lakehouse.inventory.evaluate import scores as truth_scores
from lakehouse.inventory.fold import KEY, positions
from lakehouse.inventory.ledger import build_ledger, read_silver
from lakehouse.inventory.ledger_table import write_ledger
from lakehouse.inventory.live_positions import with_live_columns
from lakehouse.inventory.reconcile import discrepancies
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table

GOLD_TABLES = ("inventory_positions", "inventory_daily", "inventory_alerts",
               "inventory_discrepancies", "inventory_days_of_cover",
               "inventory_channel_availability", "inventory_fulfilment_options")
# columns inventory_positions adds to the fold's state (dbt reads the others)
POSITION_EXTRAS = ("inbound", "next_expected_date", "in_transit_out", "at_risk")


DAILY_SCHEMA = {"product_id": pl.String, "location_id": pl.String, "date": pl.Date,
                "on_hand": pl.Int64, "reserved": pl.Int64, "available_to_promise": pl.Int64}
COVER_SCHEMA = {"product_id": pl.String, "location_id": pl.String,
                "available_to_promise": pl.Int64, "in_stock_days": pl.UInt32,
                "velocity": pl.Float64, "days_of_cover": pl.Float64}


@dataclass
class InventoryRun:
    rows: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    scores: dict | None = None  # against the simulator's true stock, when the home has it


def gold_frames(inv: Inventory) -> dict[str, pl.DataFrame]:
    """Positions (with the availability extras), channel availability and fulfilment options
    from one ledger."""
    pos = positions(inv.ledger)
    now = availability(inv)
    pos = pos.join(now.select(*KEY, *POSITION_EXTRAS), on=KEY, how="full", coalesce=True
                   ).with_columns(pl.col("on_hand", "reserved", "available_to_promise",
                                         "events", "shrinkage").fill_null(0))
    pos = with_live_columns(pos, inv.ledger)
    out = {"inventory_positions": pos.sort(KEY),
           "inventory_channel_availability": pl.DataFrame(schema=CHANNEL_SCHEMA),
           "inventory_fulfilment_options": pl.DataFrame(schema=FULFILMENT_SCHEMA)}
    if inv.locations.height:
        chan = channel_availability(now, inv.locations)
        out["inventory_channel_availability"] = chan
        if inv.shipping_rates.height:
            web = chan.filter(pl.col("channel") == "web")
            out["inventory_fulfilment_options"] = fulfilment_options(
                web, inv.ledger, inv.locations, inv.shipping_rates)
    return out


def build_inventory(home: Home) -> InventoryRun:
    inputs = read_silver(home.root)
    ledger = build_ledger(inputs)
    inv = Inventory.from_silver(inputs, ledger)
    run = InventoryRun()
    frames: dict[str, tuple[str, pl.DataFrame]] = {"inventory_ledger": ("silver", ledger)}
    frames.update({n: ("gold", f) for n, f in gold_frames(inv).items()})
    if ledger.height:
        first, last = ledger["business_day"].min(), ledger["business_day"].max()
        frames["inventory_daily"] = ("gold", daily_positions(ledger, first, last))
        frames["inventory_days_of_cover"] = ("gold", days_of_cover(ledger, last))
    else:  # nothing landed yet: empty tables, so every reader finds them
        frames["inventory_daily"] = ("gold", pl.DataFrame(schema=DAILY_SCHEMA))
        frames["inventory_days_of_cover"] = ("gold", pl.DataFrame(schema=COVER_SCHEMA))
    frames["inventory_alerts"] = ("gold", phantom_alerts(ledger))
    frames["inventory_discrepancies"] = ("gold", discrepancies(inputs, ledger, home=home.root))
    for name, (layer, frame) in frames.items():
        if name == "inventory_ledger":
            run.versions[name] = write_ledger(table_uri(home, layer, name), frame)
        else:
            run.versions[name] = replace_table(table_uri(home, layer, name), frame)
        run.rows[name] = frame.height
    truth = home.truth / "stock_daily.parquet"
    if truth.exists() and "inventory_daily" in frames:
        run.scores = truth_scores(ledger, frames["inventory_daily"][1], pl.read_parquet(truth))
    return run
