"""Inventory: the event-sourced stock ledger and the positions every consumer reads."""

import dagster as dg

from data_quality.suites import gold_suites
from lakehouse.inventory.store import GOLD_TABLES, build_inventory
from lakehouse.inventory.tables import DESCRIPTIONS
from lakehouse.storage.paths import table_uri
from orchestration.assets.silver import _batch_of_this_run, silver_key
from orchestration.gates import (
    DEFAULT_ENGINE,
    GateEngine,
    gate_result,
    gold_step,
    gold_table_results,
    one_registry_commit,
)
from orchestration.metadata import table_metadata
from orchestration.resources import LakehouseResource

SOURCES = ["inventory_movements", "pos_transaction_lines", "orders", "order_lines",
           "shipments", "returns", "purchase_orders", "locations", "shipping_rates",
           "clickstream_events"]
TABLES = ("inventory_ledger", *GOLD_TABLES)


def _layer(name: str) -> str:
    return "silver" if name == "inventory_ledger" else "gold"


@gold_step("build_inventory", "inventory", {n: DESCRIPTIONS[n] for n in TABLES},
           deps=[silver_key(s) for s in SOURCES], layer=_layer)
def inventory_tables(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    home = lakehouse.paths
    run = build_inventory(home)
    scores = {f"truth_{k}": v for k, v in (run.scores or {}).items()
              if isinstance(v, int | float)}
    yield from gold_table_results(
        "inventory", {name: table_uri(home, _layer(name), name) for name in TABLES}, scores,
        run_id=context.run_id)


# ------------------------------------------------------------------ the micro-batch path

LIVE_KEY = dg.AssetKey(["inventory", "positions_live"])
LIVE_GATES = {  # check name -> table it validates: every table the micro-batch writes
    "gx_ledger_gate": ("silver", "inventory_ledger"),
    "gx_positions_gate": ("gold", "inventory_positions"),
    "gx_channel_gate": ("gold", "inventory_channel_availability"),
}


class LiveConfig(dg.Config):
    gate_engine: GateEngine = DEFAULT_ENGINE


@dg.asset(
    key=LIVE_KEY,
    deps=[silver_key(s) for s in SOURCES] + [dg.AssetKey(["inventory", "inventory_positions"])],
    group_name="inventory",
    description="Inventory positions updated from this run's micro-batch: the batch's silver "
    "rows merged into silver/inventory_ledger (keyed by event_key, once per batch) and folded "
    "into gold inventory_positions and inventory_channel_availability incrementally (cost "
    "grows with the batch). The nightly build_inventory rebuilds every inventory table.",
    kinds={"delta", "polars"},
    owners=["team:data-platform"],
    tags={"layer": "gold"},
    check_specs=[dg.AssetCheckSpec(name, asset=LIVE_KEY, blocking=True,
                                   description=f"GX suite gold.{table} after the micro-batch")
                 for name, (_, table) in LIVE_GATES.items()],
)
@one_registry_commit
def inventory_live(context: dg.AssetExecutionContext, config: LiveConfig,
                   lakehouse: LakehouseResource):
    from lakehouse.inventory.live import apply_micro_batch

    home = lakehouse.paths
    batch_id = _batch_of_this_run(context)
    if batch_id is None:  # no micro-batch in this run: the full build covers everything
        yield dg.MaterializeResult(asset_key=LIVE_KEY, metadata={
            "batch_id": "none (no batch ingested in this run)", "rows_applied": 0})
    else:
        report = apply_micro_batch(home, batch_id)
        context.log.info(f"inventory micro-batch {batch_id}: {report.rows_applied} rows "
                         f"applied, {report.keys_touched} keys, "
                         f"{report.seconds.get('total', 0):.3f} s")
        uri = table_uri(home, "gold", "inventory_positions")
        yield dg.MaterializeResult(asset_key=LIVE_KEY,
                                   metadata={**table_metadata(uri), **report.metadata()})
    # every commit since each table's pin (free when the pin is the latest version)
    suites = gold_suites()
    for name, (layer, table) in LIVE_GATES.items():
        yield gate_result(table_uri(home, layer, table), suites[table], LIVE_KEY, name,
                          run_id=context.run_id, engine=config.gate_engine)
