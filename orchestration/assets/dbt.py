"""dbt models as Dagster assets, grouped by layer (staging, intermediate, marts)."""


import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from lakehouse.warehouse.publish import build_path
from orchestration.assets.identity import identity_tables
from orchestration.assets.inventory import inventory_tables
from orchestration.resources import LakehouseResource

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
_SOURCES = ("models", "macros", "tests", "seeds", "dbt_project.yml", "profiles.yml")


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = project_dir / name
        paths = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


def prepare_manifest(project: DbtProject) -> Path:
    """Parse the dbt project (offline) when its manifest is missing or older than its sources.

    `DbtProject.prepare_if_dev` only acts under `dagster dev`; `lakehouse run`, tests and CI load
    the definitions directly, so they need the same guarantee.
    """
    manifest = project.manifest_path
    if manifest.exists() and manifest.stat().st_mtime >= _newest_source_mtime(project.project_dir):
        return manifest
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    done = subprocess.run(
        [str(dbt), "parse", "--quiet", "--profiles-dir", str(project.profiles_dir)],
        cwd=project.project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"dbt parse failed in {project.project_dir}:\n{done.stdout}{done.stderr}"
        )
    return manifest


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
prepare_manifest(dbt_project)


# dbt sources are the lake's own assets: one lineage graph from landing to the marts
_GOLD_KEYS = {key.path[-1]: key for key in [*identity_tables.keys, *inventory_tables.keys]}


class LayeredTranslator(DagsterDbtTranslator):
    """One Dagster group per dbt layer, so the UI reads landing -> ... -> marts; sources keyed
    as the assets that write them."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props.get("resource_type") == "source":
            name = dbt_resource_props["name"]
            if name in _GOLD_KEYS:  # inventory_ledger lives in silver, written by inventory
                return _GOLD_KEYS[name]
            if dbt_resource_props.get("source_name") == "silver":
                return dg.AssetKey(["silver", name])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "marts"
        return {"staging": "staging", "intermediate": "intermediate"}.get(layer, "marts")

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        owner = dbt_resource_props.get("config", {}).get("meta", {}).get("owner")
        return [f"team:{owner}"] if owner else ["team:data-platform"]


def model_relations(manifest_path: Path) -> dict[dg.AssetKey, str]:
    """Asset key -> ``schema.table`` of every dbt model, from the manifest."""
    translator = LayeredTranslator()
    nodes = json.loads(Path(manifest_path).read_text())["nodes"].values()
    return {translator.get_asset_key(n): f"{n['schema']}.{n.get('alias') or n['name']}"
            for n in nodes if n["resource_type"] == "model"}


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LayeredTranslator(),
)
def dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, lakehouse: LakehouseResource
):
    """`dbt build` (models and their tests) into the home's build file (write-audit-publish:
    analysts get it only after `gx_warehouse_gate` passes and `warehouse` publishes it)."""
    # dbt runs as a subprocess and reads the home from the environment (profiles.yml).
    os.environ["LAKEHOUSE_HOME"] = str(lakehouse.paths.root)
    database = build_path(lakehouse.paths)
    os.environ["LAKEHOUSE_DBT_DATABASE"] = str(database)
    # dbt holds the file's write lock while it runs: tables are measured once it is done, on
    # our own short read-only connection (dagster-dbt's row-count fetch keeps dbt's adapter
    # connection open in this process, which then blocks the audit's read-only opens).
    events = list(dbt.cli(["build"], context=context).stream())
    yield from with_table_metadata(events, database, context)


def with_table_metadata(events: list, database: Path, context: dg.AssetExecutionContext):
    """Row count and column schema (DuckDB types) on every model materialization."""
    import duckdb

    relations = model_relations(dbt_project.manifest_path)
    docs = column_docs(dbt_project.manifest_path)
    con = duckdb.connect(str(database), read_only=True)
    try:
        for event in events:
            if isinstance(event, dg.Output):
                relation = relations.get(context.asset_key_for_output(event.output_name))
                if relation:
                    event = event.with_metadata({**event.metadata,
                                                 **_table_metadata(con, relation,
                                                                   docs.get(relation, {}))})
            yield event
    finally:
        con.close()


def column_docs(manifest_path: Path) -> dict[str, dict[str, str]]:
    """``schema.table`` -> column -> its description in the model's YAML."""
    nodes = json.loads(Path(manifest_path).read_text())["nodes"].values()
    return {f"{n['schema']}.{n.get('alias') or n['name']}":
            {c: spec.get("description", "") for c, spec in n.get("columns", {}).items()}
            for n in nodes if n["resource_type"] == "model"}


def _table_metadata(con, relation: str, docs: dict[str, str]) -> dict:
    schema, table = relation.split(".")
    columns = con.execute("select column_name, data_type from information_schema.columns "
                          "where table_schema = ? and table_name = ? order by ordinal_position",
                          [schema, table]).fetchall()
    if not columns:
        return {}
    rows = con.execute(f'select count(*) from "{schema}"."{table}"').fetchall()[0][0]
    return {"dagster/row_count": rows,
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name, kind, description=docs.get(name) or None)
                         for name, kind in columns]),
            "relation": relation}
