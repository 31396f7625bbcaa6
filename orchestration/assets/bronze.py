"""Bronze: every landing file parsed, validated and appended once; bad rows to quarantine.

One multi-asset ingests a batch of files (all new files for the daily batch, the sensor's files
for a micro-batch) into every bronze table and the quarantine table in one step, so a file's
rows and its rejected rows are committed together per table, exactly once. Each bronze table
carries a blocking Great Expectations gate that validates the rows this batch added.
"""

import dagster as dg

from data_quality.suites import bronze_entities, bronze_suite, quarantine_suite
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.storage.paths import bronze_table_name, bronze_uri, quarantine_uri
from orchestration.gates import (
    DEFAULT_ENGINE,
    GateEngine,
    gate_result,
    one_registry_commit,
)
from orchestration.metadata import table_metadata
from orchestration.resources import LakehouseResource

ENTITIES = bronze_entities()
QUARANTINE_KEY = dg.AssetKey(["quarantine", "rows"])


def bronze_key(channel: str, entity: str) -> dg.AssetKey:
    return dg.AssetKey(["bronze", bronze_table_name(channel, entity)])


class IngestConfig(dg.Config):
    """Which landing files to ingest (paths relative to `landing/`); empty = every landed file."""

    files: list[str] = []  # noqa: RUF012 (pydantic copies defaults)
    gate_engine: GateEngine = DEFAULT_ENGINE


@dg.multi_asset(
    specs=[
        dg.AssetSpec(
            bronze_key(e.channel, e.name),
            deps=[dg.AssetKey(["landing", e.channel])],
            group_name="bronze",
            description=f"Bronze `{e.channel}/{e.name}`: {e.description} As landed, typed per "
            "the channel contract, plus lineage (`_source_file`, `_line`, `_batch_id`, "
            "`_ingested_at`, `_extra`). Append-only, exactly once per file.",
            kinds={"delta", "polars"},
            owners=["team:data-platform"],
            tags={"layer": "bronze"},
        )
        for e in ENTITIES
    ]
    + [
        dg.AssetSpec(
            QUARANTINE_KEY,
            deps=[dg.AssetKey(["landing", ch]) for ch in sorted({e.channel for e in ENTITIES})],
            group_name="bronze",
            description="Every landed row that could not be used, with its raw payload, "
            "source file, line, batch, error kind and a reason a person can act on.",
            kinds={"delta"},
            owners=["team:data-platform"],
            tags={"layer": "quarantine"},
        )
    ],
    check_specs=[
        dg.AssetCheckSpec(
            "gx_bronze_gate",
            asset=bronze_key(e.channel, e.name),
            blocking=True,
            description=f"GX suite bronze.{e.channel}__{e.name} on every commit since the "
            "validated pin",
        )
        for e in ENTITIES
    ]
    + [
        dg.AssetCheckSpec("gx_quarantine_gate", asset=QUARANTINE_KEY, blocking=True,
                          description="GX suite quarantine.rows on every commit since "
                          "the validated pin"),
    ],
    name="ingest_bronze",
    # A micro-batch materializes only the tables its files feed (the sensor selects them).
    can_subset=True,
)
@one_registry_commit
def ingest_bronze(context: dg.AssetExecutionContext, config: IngestConfig,
                  lakehouse: LakehouseResource):
    home = lakehouse.paths
    landed = discover(home)
    files = [f for f in landed if f.relpath in set(config.files)] if config.files else landed
    missing = sorted(set(config.files) - {f.relpath for f in files})
    if missing:
        raise FileNotFoundError(f"landing files requested but not found: {missing[:10]}")
    batch_id = batch_id_for(files)
    context.log.info(f"batch {batch_id}: {len(files)} files")
    result = ingest_files(home, files, batch_id)
    counts = result.metadata()
    selected = context.selected_asset_keys
    for e in ENTITIES:
        name = bronze_table_name(e.channel, e.name)
        uri = bronze_uri(home, e.channel, e.name)
        table = counts["tables"].get(name, {})
        key = bronze_key(e.channel, e.name)
        if key not in selected:
            if table.get("rows_appended"):
                raise RuntimeError(f"batch {batch_id} wrote to {name}, which the run did not "
                                   "select: select the tables its files feed")
            continue
        if not table.get("rows_appended"):
            # the batch wrote nothing here: no table scan for metadata
            yield dg.MaterializeResult(asset_key=key, metadata={"batch_id": batch_id,
                                                                "batch_rows_appended": 0})
        else:
            yield dg.MaterializeResult(
                asset_key=key,
                metadata={
                    **table_metadata(uri),
                    "batch_id": batch_id,
                    "batch_rows_read": table.get("rows_read", 0),
                    "batch_rows_bronze": table.get("rows_bronze", 0),
                    "batch_rows_quarantined": table.get("rows_quarantined", 0),
                    "batch_rows_appended": table.get("rows_appended", 0),
                },
            )
        # every commit since the pin, this batch's or a crashed run's (one registry read
        # when the pin is the latest version)
        yield gate_result(uri, bronze_suite(e), key, "gx_bronze_gate", run_id=context.run_id,
                          engine=config.gate_engine)
    if QUARANTINE_KEY not in selected:
        return
    yield dg.MaterializeResult(
        asset_key=QUARANTINE_KEY,
        metadata={
            **table_metadata(quarantine_uri(home)),
            "batch_id": batch_id,
            "batch_files": counts["files"],
            "batch_files_skipped": counts["files_skipped"],
            "batch_rows_read": counts["rows_read"],
            "batch_rows_bronze": counts["rows_bronze"],
            "batch_rows_quarantined": counts["rows_quarantined"],
            # rows in = rows landed in bronze + rows quarantined, for every batch
            "rows_balance": counts["rows_read"] - counts["rows_bronze"]
            - counts["rows_quarantined"],
            # one plotted series per kind of bad row (the UI plots numbers run over run)
            **{f"batch_quarantined_{kind}": n
               for kind, n in counts["quarantined_by_kind"].items()},
        },
    )
    yield gate_result(quarantine_uri(home), quarantine_suite(), QUARANTINE_KEY,
                      "gx_quarantine_gate", run_id=context.run_id, engine=config.gate_engine)
