"""Inventory over the lakehouse home: silver in, the ledger and what is read from it out.

Tables: ``H/lake/silver/inventory_ledger`` (one row per stock-affecting event) and, under
``H/lake/gold/``, ``inventory_positions`` (now), ``inventory_daily`` (close of each business
day, the grain forecasting needs), ``inventory_alerts`` (phantom negative stock past the
watermark), ``inventory_discrepancies`` (where systems disagree, and the likely cause) and
``inventory_days_of_cover``. A full rebuild per batch run; the micro-batch path (``apply_batch``
on the new ledger rows) is not wired yet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from lakehouse.home import Home
from lakehouse.inventory.alerts import phantom_alerts
from lakehouse.inventory.daily import daily_positions, days_of_cover
from lakehouse.inventory.evaluate import scores as truth_scores
from lakehouse.inventory.fold import positions
from lakehouse.inventory.ledger import build_ledger, read_silver
from lakehouse.inventory.reconcile import discrepancies
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table

GOLD_TABLES = ("inventory_positions", "inventory_daily", "inventory_alerts",
               "inventory_discrepancies", "inventory_days_of_cover")


@dataclass
class InventoryRun:
    rows: dict[str, int] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    scores: dict | None = None  # against the simulator's true stock, when the home has it


def build_inventory(home: Home) -> InventoryRun:
    inputs = read_silver(home.root)
    ledger = build_ledger(inputs)
    run = InventoryRun()
    frames: dict[str, tuple[str, pl.DataFrame]] = {
        "inventory_ledger": ("silver", ledger),
        "inventory_positions": ("gold", positions(ledger)),
    }
    if ledger.height:
        first, last = ledger["business_day"].min(), ledger["business_day"].max()
        frames["inventory_daily"] = ("gold", daily_positions(ledger, first, last))
        frames["inventory_days_of_cover"] = ("gold", days_of_cover(ledger, last))
    frames["inventory_alerts"] = ("gold", phantom_alerts(ledger))
    frames["inventory_discrepancies"] = ("gold", discrepancies(inputs, ledger, home=home.root))
    for name, (layer, frame) in frames.items():
        run.versions[name] = replace_table(table_uri(home, layer, name), frame)
        run.rows[name] = frame.height
    truth = home.truth / "stock_daily.parquet"
    if truth.exists() and "inventory_daily" in frames:
        run.scores = truth_scores(ledger, frames["inventory_daily"][1], pl.read_parquet(truth))
    return run
