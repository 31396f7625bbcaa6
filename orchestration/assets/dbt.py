"""dbt models as Dagster assets, grouped by layer (staging, intermediate, marts).

The asset specs (keys, lineage, descriptions, column docs, one blocking check per dbt test) are
read from the dbt manifest, and dagster-dbt runs dbt only inside the step that builds the
models. Importing dagster-dbt loads dbt-core (seconds per process), and every run worker loads
this code location: a micro-batch that never touches dbt must not pay that on every file drop.
"""

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg

from lakehouse.storage.faults import fault
from lakehouse.warehouse.publish import build_path
from orchestration.assets.attribution import EXTRA_METADATA
from orchestration.assets.identity import identity_tables
from orchestration.assets.inventory import inventory_tables
from orchestration.assets.merchandising import demand_forecasts, replenishment
from orchestration.assets.ml import customer_segments
from orchestration.resources import LakehouseResource

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
MANIFEST_PATH = DBT_PROJECT_DIR / "target" / "manifest.json"
PARTIAL_PARSE = "partial_parse.msgpack"
_SOURCES = ("models", "macros", "tests", "seeds", "dbt_project.yml", "profiles.yml")
_LAYER_GROUPS = {"staging": "staging", "intermediate": "intermediate"}


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = project_dir / name
        paths = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


def prepare_manifest(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """Parse the dbt project (offline) when its manifest or partial-parse state is missing or
    older than its sources, so `lakehouse run`, tests, CI and `dagster dev` all load the project
    as it is on disk, and every build starts from a partial parse.

    Each process parses into its own target directory and renames the manifest into place, so
    a process loading the code location at the same time (test workers, the UI and the
    daemon) never reads a half-written manifest."""
    manifest = project_dir / "target" / "manifest.json"
    if (manifest.exists() and (manifest.parent / PARTIAL_PARSE).exists()
            and manifest.stat().st_mtime >= _newest_source_mtime(project_dir)):
        return manifest
    dbt = Path(sys.executable).with_name("dbt")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parse-", dir=manifest.parent) as target:
        done = subprocess.run(
            [str(dbt), "parse", "--quiet", "--profiles-dir", str(project_dir),
             "--target-path", target],
            cwd=project_dir, env=env, capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"dbt parse failed in {project_dir}:\n{done.stdout}{done.stderr}")
        # dagster-dbt seeds every build's target with target/partial_parse.msgpack: with it a
        # build re-parses only what changed (the profile's path is constant for this reason)
        os.replace(Path(target) / "partial_parse.msgpack", manifest.parent / PARTIAL_PARSE)
        os.replace(Path(target) / "manifest.json", manifest)
    return manifest


prepare_manifest()

# dbt sources are the lake's own assets: one lineage graph from landing to the marts
_GOLD_KEYS = {key.path[-1]: key for key in [*identity_tables.keys, *inventory_tables.keys,
                                             *customer_segments.keys, *demand_forecasts.keys,
                                             *replenishment.keys]}


def asset_key(props: Mapping[str, Any]) -> dg.AssetKey:
    """A model: ``[schema, name]`` when it sets its own schema (staging, intermediate), else
    its name (marts, queried by bare name). A source: the asset that writes that table."""
    name = props["name"]
    if props.get("resource_type") == "source":
        if name in _GOLD_KEYS:  # inventory_ledger lives in silver, written by inventory
            return _GOLD_KEYS[name]
        return dg.AssetKey([props.get("source_name", "dbt"), name])
    schema = props.get("config", {}).get("schema")
    return dg.AssetKey([schema, name] if schema else [name])


@cache
def _manifest() -> dict:
    return json.loads(MANIFEST_PATH.read_text())


def _models() -> list[dict]:
    return sorted((n for n in _manifest()["nodes"].values() if n["resource_type"] == "model"),
                  key=lambda n: n["unique_id"])


def _relation(node: Mapping[str, Any]) -> str:
    return f"{node['schema']}.{node.get('alias') or node['name']}"


def model_relations(manifest_path: Path = MANIFEST_PATH) -> dict[dg.AssetKey, str]:
    """Asset key -> ``schema.table`` of every dbt model."""
    return {asset_key(n): _relation(n) for n in _models()}


def column_docs() -> dict[str, dict[str, str]]:
    """``schema.table`` -> column -> its description in the model's YAML."""
    return {_relation(n): {c: spec.get("description", "") for c, spec in n["columns"].items()}
            for n in _models()}


def _spec(node: Mapping[str, Any]) -> dg.AssetSpec:
    nodes = {**_manifest()["nodes"], **_manifest()["sources"]}
    fqn = node.get("fqn", [])
    layer = fqn[1] if len(fqn) > 2 else "marts"
    owner = node.get("config", {}).get("meta", {}).get("owner")
    columns = [dg.TableColumn(name, spec.get("data_type") or "unknown",
                              description=spec.get("description") or None)
               for name, spec in node["columns"].items()]
    return dg.AssetSpec(
        key=asset_key(node),
        deps=[asset_key(nodes[uid]) for uid in node["depends_on"]["nodes"] if uid in nodes],
        description=node.get("description") or None,
        group_name=_LAYER_GROUPS.get(layer, "marts"),
        kinds={"dbt", "duckdb"},
        owners=[f"team:{owner}"] if owner else ["team:data-platform"],
        code_version=node["checksum"]["checksum"][:16],
        skippable=True,  # a model dbt skips after an upstream failure yields nothing
        metadata={"dagster/column_schema": dg.TableSchema(columns=columns),
                  "dagster/table_name": f"warehouse.{_relation(node)}",
                  "dbt_unique_id": node["unique_id"],
                  "dbt_path": node["original_file_path"]},
    )


def _check_specs() -> list[dg.AssetCheckSpec]:
    """One blocking check per dbt data test, on the model it is attached to."""
    models = {n["unique_id"]: n for n in _models()}
    specs = []
    for test in _manifest()["nodes"].values():
        attached = test.get("attached_node")
        if test["resource_type"] != "test" or attached not in models:
            continue
        specs.append(dg.AssetCheckSpec(
            test["name"], asset=asset_key(models[attached]), blocking=True,
            description=test.get("description") or f"dbt test {test['name']}",
            metadata={"dbt_unique_id": test["unique_id"]}))
    return specs


class DbtResource(dg.ConfigurableResource):
    """Where the dbt project and the dbt executable are; dbt runs through dagster-dbt."""

    project_dir: str = str(DBT_PROJECT_DIR)
    executable: str = str(Path(sys.executable).with_name("dbt"))


@dg.multi_asset(
    specs=[_spec(n) for n in _models()],
    check_specs=_check_specs(),
    name="dbt_models",
    can_subset=True,
    description="`dbt build` (models and their tests) into the home's build file.",
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtResource,
               lakehouse: LakehouseResource) -> Iterator:
    """`dbt build` into the home's build file (write-audit-publish: analysts get it only after
    `gx_warehouse_gate` passes and `warehouse` publishes it)."""
    from dagster_dbt import DagsterDbtTranslator, DbtCliResource

    class Translator(DagsterDbtTranslator):
        def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
            return asset_key(dbt_resource_props)

    # dbt runs as a subprocess and reads the home from the environment (profiles.yml).
    database = build_path(lakehouse.paths)
    os.environ["LAKEHOUSE_HOME"] = str(lakehouse.paths.root)
    os.environ["LAKEHOUSE_DBT_DATABASE"] = str(database)
    by_key = {asset_key(n): n["name"] for n in _models()}
    args = ["build"]
    if set(context.selected_asset_keys) != set(by_key):
        args += ["--select", *sorted(by_key[k] for k in context.selected_asset_keys)]
    cli = DbtCliResource(project_dir=dbt.project_dir, profiles_dir=dbt.project_dir,
                         dbt_executable=dbt.executable)
    # dbt holds the file's write lock while it runs: tables are measured once it is done.
    fault("dbt.build.before", str(database))
    events = list(cli.cli(args, manifest=MANIFEST_PATH, dagster_dbt_translator=Translator())
                  .stream())
    fault("dbt.build.after", str(database))
    yield from _results(events, database, context, lakehouse.paths.root)


def _results(events: list, database: Path, context: dg.AssetExecutionContext,
             home_root: Path) -> Iterator:
    """dagster-dbt's events as this asset's results, with row count and column schema (DuckDB
    types, YAML descriptions) measured on a short read-only connection, plus what a model
    reports about itself (attribution: credit per channel and model)."""
    import duckdb

    relations = model_relations()
    docs = column_docs()
    checks = {(c.asset_key, c.name) for c in context.selected_asset_check_keys}
    con = duckdb.connect(str(database), read_only=True)
    try:
        for event in events:
            if isinstance(event, dg.AssetMaterialization):
                relation = relations.get(event.asset_key)
                extra = _table_metadata(con, relation, docs.get(relation, {})) if relation else {}
                if relation in EXTRA_METADATA:
                    extra.update(EXTRA_METADATA[relation](con, home_root))
                yield dg.MaterializeResult(asset_key=event.asset_key,
                                           metadata={**event.metadata, **extra})
            elif (isinstance(event, dg.AssetCheckEvaluation)
                  and (event.asset_key, event.check_name) in checks):
                yield dg.AssetCheckResult(
                    asset_key=event.asset_key, check_name=event.check_name,
                    passed=event.passed, severity=event.severity,
                    description=event.description, metadata=event.metadata)
    finally:
        con.close()


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
