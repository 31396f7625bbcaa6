"""The landing zone, one asset per source channel: the first layer of the graph.

Each materialization records what has landed (files, bytes, newest file) with a data version
derived from the files' identities, so downstream layers can tell new work from old.
"""


import dagster as dg

from lakehouse.channels import CHANNELS, NESTED, Channel
from lakehouse.ingest.landing import batch_id_for, discover
from orchestration.resources import LakehouseResource

KINDS = {"jsonl": "json", "json": "json", "csv": "csv"}


def _column_schema(channel: Channel) -> dg.TableSchema:
    columns = []
    for ent in channel.entities:
        if (channel.name, ent.name) in NESTED:
            continue
        for f in ent.all_fields:
            columns.append(
                dg.TableColumn(
                    name=f"{ent.name}.{f.name}",
                    type=f.type,
                    description=f.description,
                    constraints=dg.TableColumnConstraints(nullable=not f.required),
                )
            )
    return dg.TableSchema(columns=columns)


def landing_asset(channel: Channel) -> dg.AssetsDefinition:
    @dg.asset(
        key=["landing", channel.name],
        group_name="landing",
        description=f"{channel.description}: files from the {channel.system}, as delivered "
        f"to `landing/{channel.name}/`.",
        kinds={KINDS[e.format] for e in channel.entities} | {"file"},
        owners=["team:data-platform"],
        metadata={"dagster/column_schema": _column_schema(channel)},
        tags={"layer": "landing"},
    )
    def _landing(context: dg.AssetExecutionContext, lakehouse: LakehouseResource):
        files = discover(lakehouse.paths, channel.name)
        by_entity: dict[str, int] = {}
        for f in files:
            by_entity[f.entity or "unrecognised"] = by_entity.get(f.entity or "unrecognised", 0) + 1
        unrecognised = [f.relpath for f in files if f.entity is None]
        if unrecognised:
            context.log.warning(
                f"landing/{channel.name}: {len(unrecognised)} file(s) match no file pattern of "
                f"the channel spec and will not be ingested: {unrecognised[:5]}"
            )
        newest = max((f.path.stat().st_mtime for f in files), default=None)
        # freshness is judged on when data arrived (the newest file's modification time), not
        # on when this run looked (orchestration/checks/freshness.py)
        arrived = {} if newest is None else {
            "dagster/last_updated_timestamp": dg.MetadataValue.timestamp(newest)}
        return dg.MaterializeResult(
            metadata={
                **arrived,
                "files": len(files),
                "bytes": sum(f.size for f in files),
                "files_by_entity": by_entity,
                "unrecognised_files": unrecognised,
                "newest_file": max((f.relpath for f in files), default=""),
                "path": dg.MetadataValue.path(str(lakehouse.paths.channel_dir(channel.name))),
            },
            data_version=dg.DataVersion(batch_id_for(files)),
        )

    return _landing


landing_assets = [landing_asset(ch) for ch in CHANNELS]
