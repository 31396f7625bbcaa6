"""Table maintenance as its own asset: compaction, checkpoints, vacuum within retention."""

from pathlib import Path

import dagster as dg
from deltalake import DeltaTable

from lakehouse.storage.lock import lake_writer
from lakehouse.storage.maintenance import DEFAULT_RETENTION_HOURS, data_unchanged, maintain
from lakehouse.storage.validations import (
    record_validation,
    registry_uri,
    validated_version,
)
from orchestration.assets.bronze import ingest_bronze
from orchestration.assets.identity import identity_tables
from orchestration.assets.inventory import inventory_tables
from orchestration.assets.ml import ml_feature_marts
from orchestration.assets.silver import silver_tables
from orchestration.resources import LakehouseResource


class MaintenanceConfig(dg.Config):
    retention_hours: int = DEFAULT_RETENTION_HOURS


@dg.asset(
    deps=[*ingest_bronze.keys, *silver_tables.keys, *identity_tables.keys,
          *inventory_tables.keys, *ml_feature_marts.keys],
    group_name="maintenance",
    kinds={"delta"},
    owners=["team:data-platform"],
    description="Compacts small files, writes checkpoints and vacuums files that no version "
    "inside the retention window needs, on every Delta table of the lake, so thousands of "
    "micro-batches do not slow reads. Time travel inside the window keeps working.",
)
def lake_maintenance(context: dg.AssetExecutionContext, config: MaintenanceConfig,
                     lakehouse: LakehouseResource) -> dg.MaterializeResult:
    # a run that writes the lake holds the lock already (re-entered here); maintenance
    # materialized any other way (a test, a notebook) must not rewrite files under a writer
    with lake_writer(lakehouse.paths, holder=f"lake maintenance (run {context.run_id})"):
        return _maintain_lake(context, config, lakehouse.paths.lake)


def _maintain_lake(context: dg.AssetExecutionContext, config: MaintenanceConfig,
                   lake: Path) -> dg.MaterializeResult:
    # the validation registry last: maintaining the other tables appends to it
    uris = sorted((str(p) for p in lake.glob("*/*") if DeltaTable.is_deltatable(str(p))),
                  key=lambda uri: (uri == registry_uri(lake), uri))
    rows, before, after, vacuumed = [], 0, 0, 0
    for uri in uris:
        validated = validated_version(uri)
        report = maintain(uri, retention_hours=config.retention_hours, keep_version=validated)
        if (validated == report.version_before != report.version_after
                and data_unchanged(DeltaTable(uri), validated)):
            # proven from the log: every commit since the pin only rewrote files (compaction,
            # vacuum), so the new version holds exactly the validated rows; anything else
            # waits for the table's own gate
            record_validation(uri, report.version_after, "maintenance: data unchanged", 0,
                              context.run_id, from_version=validated)
        name = uri[len(str(lake)) + 1:]
        before, after = before + report.files_before, after + report.files_after
        vacuumed += report.files_vacuumed
        rows.append(f"| {name} | {report.files_before} | {report.files_after} | "
                    f"{report.files_vacuumed} | {report.version_after} |")
        context.log.info(f"{name}: {report.files_before} -> {report.files_after} files")
    table = "\n".join(["| table | files before | files after | vacuumed | version |",
                       "| --- | --- | --- | --- | --- |", *rows])
    return dg.MaterializeResult(metadata={
        "tables": len(uris),
        "files_before": before,
        "files_after": after,
        "files_vacuumed": vacuumed,
        "retention_hours": config.retention_hours,
        "report": dg.MetadataValue.md(table),
    })
