"""Inventory intelligence: an event-sourced stock ledger and everything read from it.

- ``build_ledger(read_silver(home))``: one row per stock-affecting event (ledger.py; the row:
  ledger_rows.py; each source's rows: ledger_stock.py, ledger_shop.py; the table: ledger_table.py)
- ``positions`` / ``apply_batch``: event-time fold, full or incremental; ``supersede`` /
  ``ledger_changes``: what a micro-batch adds and takes back (fold.py)
- ``availability(home_or_inventory, product_ids, location, channel, as_of)`` and
  ``fulfilment(home_or_inventory, zone, ...)`` (api.py; the channel rule: channels.py)
- ``daily_positions``, ``days_of_cover`` (daily.py); ``evaluate`` against truth (evaluate.py)
- ``phantom_alerts`` (alerts.py), ``discrepancies`` (reconcile.py), ``inbound`` (inbound.py)
- ``apply_micro_batch(home, batch_id)``: one silver micro-batch into the ledger, positions and
  channel availability, incrementally (live.py, with its silver reads, shop rows, positions and
  writes in live_silver.py, live_shop.py, live_positions.py, live_writes.py);
  ``build_inventory(home)``: everything (store.py)
"""

from __future__ import annotations

from lakehouse.inventory.alerts import phantom_alerts
from lakehouse.inventory.api import Inventory, availability, fulfilment
from lakehouse.inventory.channels import channel_availability, shrinkage_rates
from lakehouse.inventory.daily import daily_positions, days_of_cover
from lakehouse.inventory.evaluate import evaluate
from lakehouse.inventory.fold import (
    apply_batch,
    ledger_changes,
    positions,
    running,
    state_of,
    supersede,
)
from lakehouse.inventory.inbound import (
    inbound,
    open_purchase_orders,
    supplier_delays,
    transfers_in_transit,
)
from lakehouse.inventory.ledger import build_ledger, canonical, read_silver
from lakehouse.inventory.ledger_rows import SilverInputs
from lakehouse.inventory.live import apply_micro_batch
from lakehouse.inventory.live_report import LiveReport
from lakehouse.inventory.reconcile import discrepancies

__all__ = [
    "Inventory", "LiveReport", "SilverInputs", "apply_batch", "apply_micro_batch",
    "availability", "build_ledger", "canonical",
    "channel_availability", "daily_positions", "days_of_cover", "discrepancies", "evaluate",
    "fulfilment", "inbound", "ledger_changes", "open_purchase_orders", "phantom_alerts",
    "positions", "read_silver", "running", "shrinkage_rates", "state_of", "supersede",
    "supplier_delays", "transfers_in_transit",
]
