"""Inventory: the event-sourced stock ledger and the positions every consumer reads."""

import dagster as dg

from lakehouse.inventory.store import GOLD_TABLES, build_inventory
from lakehouse.storage.paths import table_uri
from orchestration.assets.silver import silver_key
from orchestration.gates import gold_table_results, gold_table_specs
from orchestration.resources import LakehouseResource

SOURCES = ["inventory_movements", "pos_transaction_lines", "orders", "order_lines",
           "shipments", "returns", "purchase_orders", "locations", "shipping_rates",
           "clickstream_events"]
DESCRIPTIONS = {
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
TABLES = ("inventory_ledger", *GOLD_TABLES)


def _layer(name: str) -> str:
    return "silver" if name == "inventory_ledger" else "gold"


SPECS, CHECKS = gold_table_specs("inventory", {n: DESCRIPTIONS[n] for n in TABLES},
                                 deps=[silver_key(s) for s in SOURCES], layer=_layer)


@dg.multi_asset(
    specs=SPECS,
    check_specs=CHECKS,
    name="build_inventory",
    can_subset=False,
)
def inventory_tables(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    home = lakehouse.paths
    run = build_inventory(home)
    scores = {f"truth_{k}": v for k, v in (run.scores or {}).items()
              if isinstance(v, int | float)}
    yield from gold_table_results(
        "inventory", {name: table_uri(home, _layer(name), name) for name in TABLES}, scores,
        run_id=context.run_id)
