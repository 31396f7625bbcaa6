"""The jobs and the schedule of the code location: the nightly batch, the micro-batch and the
quarantine replay."""

import dagster as dg

from orchestration.assets.bronze import ingest_bronze
from orchestration.assets.inventory import inventory_live
from orchestration.assets.quarantine_ops import replay_job
from orchestration.assets.silver import silver_tables
from orchestration.checks.freshness import landing_freshness_checks

# Runs that write the lake never overlap (the home's dagster.yaml limits this tag to one run):
# a nightly rebuild must not overwrite what a micro-batch is committing.
LAKE_WRITER = {"lakehouse/writes": "lake"}

# A launched run that is not a micro-batch (the scheduled nightly, a materialization from the
# UI) runs each step in a process of its own. Forked from a server that imported the code
# location once, a step starts in milliseconds; a fresh interpreter per step would import
# Dagster, dagster-dbt and dbt-core again, ~3 s each. Measured on the smallest simulated home,
# `materialize_all` through `execute_job` at load 5: 491 s wall with fresh interpreters, 120 s
# forked. `lakehouse run` runs in-process and does not use it. The forkserver and the steps
# are in the run worker's process group, so stopping `lakehouse dev` stops them with it
# (orchestration/runtime/README.md).
STEP_EXECUTOR = dg.multiprocess_executor.configured(
    {"start_method": {"forkserver": {"preload_modules": ["orchestration.definitions"]}}},
    name="forked_steps")

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
