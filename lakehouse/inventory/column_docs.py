"""What the inventory tables' columns hold that the dbt sources
(``dbt_project/models/staging/gold/_gold__sources.yml``) do not document: the ledger
(``H/lake/silver/inventory_ledger``, built by ``ledger.py``, merged per micro-batch by
``live.py``) and the two columns ``inventory_positions`` carries for the micro-batch path.
"""

from __future__ import annotations

LEDGER = {
    "product_id": "Canonical product.",
    "location_id": "Store or warehouse whose stock the event changes; for a shop reservation "
    "the warehouse that picked or shipped the order, or the inferred one (location_inferred).",
    "event_time": "When the event happened (UTC): the WMS movement, till sale, order or "
    "cancellation time; a returns-desk restock 60 s after receipt, a supplier-reported "
    "receipt 30 s before its delivery event.",
    "business_day": "Operating day the event closes into (partition): for stock locations the "
    "UTC date of event_time - 7 h (the day starts at 07:00 UTC); for a shop reservation or "
    "release the shopper's local day (ship-to state's time zone) of the visit the order was "
    "placed in.",
    "source": "System that reported the event: wms, pos (tills), shop (orders), returns "
    "(returns desk) or suppliers (purchase-order feed).",
    "source_event_id": "The event's id in its system: WMS movement id, <transaction id>#<line> "
    "(pos), <line id>:reserve or :release (shop), return id, PO number (suppliers).",
    "event_key": "Id of the physical event across systems (one row per key): a WMS receipt "
    "and the supplier's delivery share receipt:<PO>, a WMS restock and the returns desk's "
    "share restock:<return id>, so a fallback never counts twice.",
    "kind": "What happened: a WMS movement type in lower case (receipt, pick, transfer_out, "
    "transfer_in, adjustment, return_restock, cycle_count), sale (till), reserve or release "
    "(shop order placed or cancelled), return_write_off (returned goods not restocked).",
    "delta_on_hand": "Signed change of units on hand (0 for counts, reservations, releases and "
    "write-offs).",
    "delta_reserved": "Signed change of units reserved: + at order, - at cancellation and at "
    "the pick that fulfils it; 0 otherwise.",
    "absolute_on_hand": "On hand counted by a cycle count (the state at that instant); null "
    "for every other kind.",
    "sequence": "WMS per-site sequence number of the movement; null for other sources.",
    "reference": "Business reference: the WMS movement's reference (PO, order, transfer or "
    "return id), till transaction id, shop order id, the order id a return refers to, PO "
    "number.",
    "location_inferred": "True when no system has picked or shipped the order yet and "
    "location_id is where the shop would have reserved: the warehouse cheapest to ship to the "
    "shopper's zone that had the order's first product on hand, else the cheapest; "
    "partition.",
    "arrived_at": "When the source row was ingested (its _ingested_at; shop rows: the order "
    "version's): used by alert watermarks, never by the fold.",
}

# table -> column -> description
COLUMNS: dict[str, dict[str, str]] = {
    "inventory_ledger": LEDGER,
    "inventory_positions": {
        "first_event_time": "Event time of the key's first ledger event (UTC); null for a key "
        "with no ledger event yet (open purchase orders only). The micro-batch path ages an "
        "uncounted key's at_risk from it.",
        "shrinkage_rate": "The location's shrinkage rate from the last full build: units lost "
        "per unit on hand per day, as its cycle counts revealed (0 when they showed none).",
    },
}
