"""Silver: canonical, deduplicated, product-mapped tables and identity inputs.

One multi-asset merges the bronze rows of the run's batch into every silver table (a full
rebuild when the run ingested no batch of its own), exactly once per table and batch. Rows whose
product code is not in the catalog crosswalk go to `quarantine/rows` with a reason. Each table
carries a blocking GX gate over the rows this batch wrote.
"""

import dagster as dg

from data_quality.lake import gate_table, referenced_first
from data_quality.suites import quarantine_suite, silver_suite
from lakehouse.silver import LAYOUTS, build_silver
from lakehouse.silver.tables import DESCRIPTIONS, IDENTITY_TABLES, reads
from lakehouse.storage.paths import quarantine_uri, table_uri
from orchestration.assets.bronze import ingest_bronze
from orchestration.gates import (
    DEFAULT_ENGINE,
    GateEngine,
    gate_result,
    one_registry_commit,
)
from orchestration.metadata import table_metadata
from orchestration.resources import LakehouseResource

# gate order: every table after the tables it references (a sibling's reference check reads the
# version they just passed)
# (and after the silver tables it reads: Dagster takes a multi-asset's outputs in lineage order)
GATE_ORDER = [t.split("/", 1)[1] for t in referenced_first(
    [f"silver/{n}" for n in LAYOUTS],
    after={f"silver/{n}": {f"silver/{s}" for s in reads(n)[1]} for n in LAYOUTS})]


def _lineage(name: str) -> list[dg.AssetKey]:
    """The bronze tables a silver table conforms, the silver tables it looks values up in,
    and the quarantine (its pending rows are retried on every build)."""
    bronze, silver = reads(name)
    keys = [dg.AssetKey(["bronze", f"{c}__{e}"]) for c, e in sorted(bronze)]
    keys += [silver_key(s) for s in sorted(silver)]
    return [*keys, QUARANTINE_KEY]


QUARANTINE_KEY = dg.AssetKey(["quarantine", "rows"])


class SilverConfig(dg.Config):
    gate_engine: GateEngine = DEFAULT_ENGINE


def silver_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["silver", name])


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            silver_key(name),
            deps=_lineage(name),
            group_name="silver",
            description=DESCRIPTIONS.get(name, f"Silver `{name}`: conformed and deduplicated.")
            + f" Key: ({', '.join(layout.key)})"
            + (f"; partitioned by `{layout.partition}`." if layout.partition else "."),
            kinds={"delta", "polars"},
            owners=["team:data-platform"],
            tags={"layer": "silver"},
        )
        for name, layout in LAYOUTS.items()
    ],
    check_specs=[
        dg.AssetCheckSpec("gx_silver_gate", asset=silver_key(name), blocking=True,
                          description=f"GX suite silver.{name} on every commit since the "
                          "validated pin")
        for name in LAYOUTS
    ],
    name="build_silver",
    can_subset=True,  # a micro-batch materializes the tables its files feed
)
@one_registry_commit
def silver_tables(context: dg.AssetExecutionContext, config: SilverConfig,
                  lakehouse: LakehouseResource):
    home = lakehouse.paths
    batch_id = _batch_of_this_run(context)
    # micro-batches do not select the identity inputs: the next batch run folds them in
    identity = {silver_key(t) for t in IDENTITY_TABLES} <= context.selected_asset_keys
    context.log.info(f"silver from bronze batch {batch_id or '(all: full rebuild)'}"
                     f"{'' if identity else ' (identity inputs left to the batch run)'}")
    # a table the run did not select is neither built nor retried: its gate would not run
    selected = {k.path[-1] for k in context.selected_asset_keys}
    result = build_silver(home, batch_id, identity=identity, only=selected)
    for name in GATE_ORDER:
        layout = LAYOUTS[name]
        uri = table_uri(home, "silver", name)
        counts = vars(result.tables[name]) if name in result.tables else {}
        if silver_key(name) not in context.selected_asset_keys:
            if counts.get("inserted") or counts.get("updated"):
                raise RuntimeError(f"batch {batch_id} changed silver/{name}, which the run "
                                   "did not select: select the tables its files feed")
            continue
        if not (counts.get("inserted") or counts.get("updated")):
            yield dg.MaterializeResult(asset_key=silver_key(name),
                                       metadata={"batch_id": batch_id or "full rebuild",
                                                 "batch_inserted": 0, "batch_updated": 0})
        else:
            yield dg.MaterializeResult(
                asset_key=silver_key(name),
                metadata={**table_metadata(uri), "batch_id": batch_id or "full rebuild",
                          **{f"batch_{k}": v for k, v in counts.items()
                             if isinstance(v, int) and not isinstance(v, bool)}},
            )
        # every commit since the pin, this batch's or a crashed run's (free when none)
        yield gate_result(uri, silver_suite(name, layout.key), silver_key(name),
                          "gx_silver_gate", run_id=context.run_id, engine=config.gate_engine)
    # silver writes the quarantine too (rows held back, releases recorded): its gate runs
    # here, with this step's (its check belongs to the bronze step's asset, so it is reported
    # in the log and fails the step), so readers of its pin (inventory) see the releases
    _, quarantined = gate_table(quarantine_uri(home), quarantine_suite(), context.run_id,
                                engine=config.gate_engine)
    if quarantined is not None:
        context.log.info(f"quarantine/rows after silver: {quarantined.describe()}")
        if not quarantined.passed:
            raise RuntimeError(f"quarantine/rows written by silver failed its gate: "
                               f"{quarantined.describe()}")


def _batch_of_this_run(context: dg.AssetExecutionContext) -> str | None:
    """The batch bronze ingested earlier in this run; None (full rebuild) if it did not run."""
    for key in ingest_bronze.keys:
        event = context.instance.get_latest_materialization_event(key)
        if event is not None and event.run_id == context.run_id:
            batch = event.asset_materialization.metadata.get("batch_id")
            return getattr(batch, "value", None)
    return None
