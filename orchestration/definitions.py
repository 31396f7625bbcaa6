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
from orchestration.assets.quarantine_ops import replay_job
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
from orchestration.resources import LakehouseResource
from orchestration.sensors import build_landing_sensor

# Runs that write the lake never overlap (the home's dagster.yaml limits this tag to one run):
# a nightly rebuild must not overwrite what a micro-batch is committing.
LAKE_WRITER = {"lakehouse/writes": "lake"}

all_assets_job = dg.define_asset_job(
    "materialize_all",
    # the live positions path is for micro-batches: the batch rebuilds positions in full;
    # landing freshness is a monitor of the feeds, evaluated by its sensors, not a batch outcome
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(inventory_live)
    - dg.AssetSelection.checks(*landing_freshness_checks),
    description="Everything, in dependency order: the daily batch path and `lakehouse run`.",
    tags=LAKE_WRITER,
)
micro_batch_job = dg.define_asset_job(
    "micro_batch",
    selection=dg.AssetSelection.assets(ingest_bronze, silver_tables, inventory_live),
    description="New landing files to bronze and silver, gated at each layer, and the "
    "inventory positions they move.",
    tags=LAKE_WRITER,
    # One process per run: a micro-batch must not pay a process start and imports per step.
    executor_def=dg.in_process_executor,
)
# launched from the UI (or `lakehouse quarantine replay`): quarantined rows replayed, gated
quarantine_replay_job = replay_job(tags=LAKE_WRITER)
daily_batch = dg.ScheduleDefinition(
    name="daily_batch",
    job=all_assets_job,
    cron_schedule="0 2 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Rebuilds what needs the whole history, and table maintenance, every night.",
)

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
