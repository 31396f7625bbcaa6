"""The landing zone, one asset per source channel: the first layer of the graph.

Each materialization records what has landed (files, bytes, newest file) with a data version
derived from the files' identities, so downstream layers can tell new work from old.
"""


import dagster as dg

from lakehouse.channels import CHANNELS, Channel
from lakehouse.channels.landing import landed_files, landing_fingerprint
from lakehouse.channels.spec import NESTED
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
        files = landed_files(lakehouse.paths, channel.name)
        newest = max(files, key=lambda f: f.relative_path) if files else None
        by_entity: dict[str, int] = {}
        for f in files:
            by_entity[f.entity] = by_entity.get(f.entity, 0) + 1
        context.log.info(f"landing/{channel.name}: {len(files)} files")
        return dg.MaterializeResult(
            metadata={
                "files": len(files),
                "bytes": sum(f.size for f in files),
                "files_by_entity": by_entity,
                "newest_file": newest.relative_path if newest else "",
                "path": dg.MetadataValue.path(str(lakehouse.paths.channel_dir(channel.name))),
            },
            data_version=dg.DataVersion(landing_fingerprint(files)),
        )

    return _landing


landing_assets = [landing_asset(ch) for ch in CHANNELS]
