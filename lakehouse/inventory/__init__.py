"""Inventory intelligence: an event-sourced stock ledger and everything read from it.

- ``build_ledger(read_silver(home))``: one row per stock-affecting event (ledger.py)
- ``positions`` / ``apply_batch``: event-time fold, full or incremental (fold.py)
- ``availability(home_or_inventory, product_ids, location, channel, as_of)`` (api.py)
- ``daily_positions``, ``days_of_cover`` (daily.py); ``evaluate`` against truth (evaluate.py)
- ``phantom_alerts`` (alerts.py), ``discrepancies`` (reconcile.py), ``inbound`` (inbound.py)
"""

from __future__ import annotations

from lakehouse.inventory.alerts import phantom_alerts
from lakehouse.inventory.api import Inventory, availability
from lakehouse.inventory.daily import daily_positions, days_of_cover
from lakehouse.inventory.evaluate import evaluate
from lakehouse.inventory.fold import apply_batch, positions, running, state_of
from lakehouse.inventory.inbound import inbound, open_purchase_orders, supplier_delays
from lakehouse.inventory.ledger import SilverInputs, build_ledger, canonical, read_silver
from lakehouse.inventory.reconcile import discrepancies

__all__ = [
    "Inventory", "SilverInputs", "apply_batch", "availability", "build_ledger", "canonical",
    "daily_positions", "days_of_cover", "discrepancies", "evaluate", "inbound",
    "open_purchase_orders",
    "phantom_alerts", "positions", "read_silver", "running", "state_of", "supplier_delays",
]
