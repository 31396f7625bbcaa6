"""The one Dagster `Definitions` of the lakehouse."""

from datetime import timedelta

import dagster as dg

from lakehouse.home import Home
from orchestration.assets.bronze import ingest_bronze
from orchestration.assets.dbt import DbtResource, dbt_models
from orchestration.assets.identity import identity_tables
from orchestration.assets.inventory import inventory_live, inventory_tables
from orchestration.assets.landing import landing_assets
from orchestration.assets.maintenance import lake_maintenance
from orchestration.assets.merchandising import demand_forecasts, replenishment
from orchestration.assets.ml import (
    customer_segments,
    ml_automation,
    ml_feature_marts,
    recommendations,
)
from orchestration.assets.silver import silver_tables
from orchestration.assets.warehouse import (
    gx_warehouse_gate,
    published_bytes_match_audit,
    warehouse,
    warehouse_automation,
)
from orchestration.checks.drift import ml_feature_drift
from orchestration.checks.freshness import (
    landing_arrivals,
    landing_freshness_checks,
    landing_freshness_sensor,
)
from orchestration.checks.landing import landing_files_gate
from orchestration.checks.pending import pending_age_check
from orchestration.checks.volume import bronze_batch_volume
from orchestration.jobs import (
    STEP_EXECUTOR,
    all_assets_job,
    daily_batch,
    micro_batch_job,
    quarantine_replay_job,
)
from orchestration.resources import LakehouseResource
from orchestration.sensors import build_landing_sensor

# Everything past landing is rebuilt at least by the nightly job (02:00): older than a day and
# two hours means a night was missed, and the UI says so on the asset. Landing has its own
# per-channel freshness checks (the feeds' cadence).
NIGHTLY_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=26),
                                                   warn_window=timedelta(hours=25))


def _with_nightly_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    return spec.replace_attributes(freshness_policy=NIGHTLY_FRESHNESS)


defs = dg.Definitions(
    assets=[*landing_assets, *dg.map_asset_specs(_with_nightly_freshness, [
        ingest_bronze, silver_tables, identity_tables, inventory_tables, inventory_live,
        lake_maintenance, dbt_models, warehouse, ml_feature_marts, customer_segments,
        demand_forecasts, replenishment, recommendations])],
    # checks beyond the contracts: the landing file gate (blocking), landing freshness, bronze
    # increment volume, ML feature drift and the age of pending quarantine rows (warnings),
    # the byte-for-byte warehouse publish
    asset_checks=[gx_warehouse_gate, published_bytes_match_audit, landing_files_gate,
                  *landing_freshness_checks,
                  bronze_batch_volume, ml_feature_drift, pending_age_check],
    jobs=[all_assets_job, micro_batch_job, quarantine_replay_job],
    executor=STEP_EXECUTOR,
    schedules=[daily_batch],
    # files arriving start micro-batches; a warehouse build publishes itself and the ML marts
    # follow their inputs (automation)
    sensors=[build_landing_sensor(micro_batch_job), landing_arrivals, landing_freshness_sensor,
             warehouse_automation, ml_automation],
    resources={
        "lakehouse": LakehouseResource(home=str(Home.resolve().root)),
        "dbt": DbtResource(),
    },
)
