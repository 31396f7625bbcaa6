"""Merchandising: demand forecasts (trained on demand, not on sales a stock-out depressed),
their backtest, and the replenishment and transfer plan built on them, from validated inputs."""

import dagster as dg
import polars as pl

from data_quality.ml_suites import ml_suites
from lakehouse.forecast.publish import DESCRIPTIONS as FORECAST_DESCRIPTIONS
from lakehouse.replenish.tables import DESCRIPTIONS as REPLENISH_DESCRIPTIONS
from orchestration.assets.inventory import inventory_tables
from orchestration.assets.silver import silver_key
from orchestration.gates import gold_step, gold_table_results
from orchestration.metadata import markdown_table
from orchestration.resources import LakehouseResource

GROUP = "merchandising"
_INVENTORY = {key.path[-1]: key for key in inventory_tables.keys}

FORECAST_INPUTS = [_INVENTORY["inventory_daily"], _INVENTORY["inventory_ledger"],
                   *(silver_key(n) for n in ("products", "promotions", "locations"))]


@gold_step("demand_forecasts", GROUP, FORECAST_DESCRIPTIONS, deps=FORECAST_INPUTS)
def demand_forecasts(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    """Backtest the candidate models, forecast with the best, publish both tables."""
    from lakehouse.forecast import publish_forecast  # statsforecast: only where it runs

    done = publish_forecast(lakehouse.paths)
    context.log.info(f"demand forecast: {done['demand_forecast']['rows']} rows with "
                     f"{done['chosen']} in {done['seconds']}s")
    summary = pl.DataFrame(done["accuracy"]) if done["accuracy"] else pl.DataFrame()
    plots = {}
    for row in done["accuracy"]:  # one plotted series per model and measure
        for measure in ("mase", "wape", "bias_after_stockout"):
            if isinstance(row.get(measure), float):
                plots[f"{measure}_{row['model']}"] = row[measure]
    yield from gold_table_results(
        GROUP, {name: done[name]["uri"] for name in FORECAST_DESCRIPTIONS},
        {"chosen_model": done["chosen"], "as_of": str(done["as_of"]),
         "seconds": done["seconds"], **plots,
         **({"accuracy": markdown_table(summary.drop("origin", strict=False))}
            if summary.height else {})},
        run_id=context.run_id, suites=ml_suites())


REPLENISH_INPUTS = [dg.AssetKey([GROUP, "demand_forecast"]), _INVENTORY["inventory_positions"],
                    _INVENTORY["inventory_daily"],
                    *(silver_key(n) for n in ("products", "suppliers", "purchase_orders",
                                              "locations", "shipping_rates"))]


@gold_step("replenishment", GROUP, REPLENISH_DESCRIPTIONS, deps=REPLENISH_INPUTS)
def replenishment(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
    """Plan orders and transfers from the validated forecast and positions."""
    from lakehouse.replenish import publish_replenishment  # scipy.stats: only where it runs

    done = publish_replenishment(lakehouse.paths)
    context.log.info(f"replenishment: {done['orders']} orders, {done['transfers']} transfers, "
                     f"{done['units']} units in {done['seconds']}s")
    yield from gold_table_results(
        GROUP, {"replenishment_recommendations": done["uri"]},
        {"orders": done["orders"], "transfers": done["transfers"], "units": done["units"],
         "seconds": done["seconds"],
         "inputs_never_delivered": ", ".join(done["missing"]) or "none"},
        run_id=context.run_id, suites=ml_suites())
