"""What each inventory table holds, in a sentence: the description the asset graph shows.

The tables are written by the nightly build (``store.py``) and the micro-batch path; their
columns are described in ``column_docs.py`` and the dbt sources.
"""

from __future__ import annotations

# table -> what it holds
DESCRIPTIONS: dict[str, str] = {
    "inventory_ledger": "One row per stock-affecting event (WMS, tills, shop reservations, "
    "returns, PO receipts) per canonical product and location, in event time.",
    "inventory_positions": "On hand, reserved and available to promise per product x location, "
    "folded in event time; cycle counts reset on hand and record shrinkage.",
    "inventory_daily": "Position at the close of each business day (stock-out censoring).",
    "inventory_alerts": "Negative-stock alerts raised only past the watermark, naming events.",
    "inventory_discrepancies": "Where WMS, tills and shop disagree: by how much, since when, "
    "likely cause.",
    "inventory_days_of_cover": "Available to promise over recent in-stock sales velocity.",
    "inventory_channel_availability": "What web, app and each store may sell per product and "
    "location (web and app share the warehouses' stock less a shrinkage buffer; a store sells "
    "its own shelf).",
    "inventory_fulfilment_options": "Per product and shipping zone: warehouses that can ship "
    "it, shipping cost, transit and delivery days within daily ship capacity; rank 1 is routed.",
}
