"""dbt models as Dagster assets through dagster-dbt, grouped by layer (staging, intermediate,
marts).

`@dbt_assets` reads the manifest and `LakehouseDbtTranslator` says what each node is here: its
key (a source is the lake asset that writes the table it reads, so the graph runs from landing
to the marts), group, owner, column docs, and one blocking check per dbt test.

Importing dagster-dbt loads dbt-core, and `@dbt_assets` selects nodes with dbt's own graph:
about 1.2 s of CPU and 90 MB for every process that loads this code location. The warm process
behind micro-batch workers pays it once (workers are forked from it), and so does the
forkserver of a launched run's steps (`forked_steps`, orchestration/jobs.py); `lakehouse run`
pays it once, in-process.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtProject,
    dbt_assets,
)

from lakehouse.storage.faults import fault
from lakehouse.warehouse.publish import build_path
from orchestration.assets.attribution import EXTRA_METADATA
from orchestration.assets.identity import identity_tables
from orchestration.assets.inventory import inventory_tables
from orchestration.assets.merchandising import demand_forecasts, replenishment
from orchestration.assets.ml import customer_segments
from orchestration.resources import LakehouseResource
from orchestration.runtime.dbt_cli import VenvDbtCliResource

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))
PARTIAL_PARSE = "partial_parse.msgpack"
_SOURCES = ("models", "macros", "tests", "seeds", "dbt_project.yml", "profiles.yml")
_LAYER_GROUPS = {"staging": "staging", "intermediate": "intermediate"}
# dagster-dbt gives every invocation its own target folder (`<op>-<run>-<uuid>`, ~20 MB at 1M
# events: manifest, run results, compiled SQL, logs); the newest few are kept for debugging
KEEP_TARGETS = 5  # besides the current one
# Unit tests check SQL logic on fixed rows: dbt's guidance is to run them in development and
# CI (`make test` runs `dbt build` with them, tests/integration/test_dbt_models.py), not on
# every production build, where the data tests guard the data. 20 of them cost 4-6 s.
PRODUCTION_BUILD = ["build", "--exclude-resource-type", "unit_test"]


def _newest_source_mtime(project_dir: Path) -> float:
    newest = 0.0
    for name in _SOURCES:
        path = project_dir / name
        paths = path.rglob("*") if path.is_dir() else [path]
        newest = max([newest, *(p.stat().st_mtime for p in paths if p.is_file())])
    return newest


def prepare_manifest(project: DbtProject) -> Path:
    """Parse the dbt project (offline) when its manifest or partial-parse state is missing or
    older than its sources, so `lakehouse run`, tests, CI and `dagster dev` all load the project
    as it is on disk, and every build starts from a partial parse.

    Not `DbtProject.prepare_if_dev()`: it prepares only under `dagster dev` (a `lakehouse run`,
    a test or a daemon-launched run would load a stale manifest, or none in a fresh clone),
    and then re-parses on every load, sources changed or not. The on-disk check is the cache:
    a process whose manifest is current pays one stat per source file.

    Each process parses into its own target directory and renames the manifest into place, so
    a process loading the code location at the same time (test workers, the UI and the
    daemon) never reads a half-written manifest."""
    manifest = project.manifest_path
    if (manifest.exists() and (manifest.parent / PARTIAL_PARSE).exists()
            and manifest.stat().st_mtime >= _newest_source_mtime(project.project_dir)):
        return manifest
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".parse-", dir=manifest.parent) as target:
        done = subprocess.run(
            [DBT_EXECUTABLE, "parse", "--quiet", "--profiles-dir", str(project.profiles_dir),
             "--target-path", target],
            cwd=project.project_dir, env=env, capture_output=True, text=True, check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"dbt parse failed in {project.project_dir}:\n"
                               f"{done.stdout}{done.stderr}")
        # dagster-dbt seeds every build's target with target/partial_parse.msgpack: with it a
        # build re-parses only what changed (the profile's path is constant for this reason)
        os.replace(Path(target) / PARTIAL_PARSE, manifest.parent / PARTIAL_PARSE)
        os.replace(Path(target) / "manifest.json", manifest)
    return manifest


DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR)
MANIFEST_PATH = prepare_manifest(DBT_PROJECT)

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
        # `silver_changes.<table>`: the files of silver.<table> a staging model has not read
        layer = props.get("meta", {}).get("changes_of") or props.get("source_name", "dbt")
        return dg.AssetKey([layer, name])
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


def model_relations() -> dict[dg.AssetKey, str]:
    """Asset key -> ``schema.table`` of every dbt model."""
    return {asset_key(n): _relation(n) for n in _models()}


def column_docs() -> dict[str, dict[str, str]]:
    """``schema.table`` -> column -> its description in the model's YAML."""
    return {_relation(n): {c: spec.get("description", "") for c, spec in n["columns"].items()}
            for n in _models()}


class LakehouseDbtTranslator(DagsterDbtTranslator):
    """dbt nodes as this lakehouse's assets and checks (public translator methods only)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        return asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        fqn = dbt_resource_props.get("fqn", [])
        layer = fqn[1] if len(fqn) > 2 else "marts"
        return _LAYER_GROUPS.get(layer, "marts")

    def get_description(self, dbt_resource_props: Mapping[str, Any]) -> str:
        # the model's own words (dagster-dbt's default appends the model's SQL)
        return dbt_resource_props.get("description") or ""

    def get_owners(self, dbt_resource_props: Mapping[str, Any]) -> list[str]:
        owner = dbt_resource_props.get("config", {}).get("meta", {}).get("owner")
        return [f"team:{owner}"] if owner else ["team:data-platform"]

    def get_code_version(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        # dbt's checksum of the file: an edited model shows as a new code version
        checksum = dbt_resource_props.get("checksum", {}).get("checksum")
        return checksum[:16] if checksum else None

    def get_metadata(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, Any]:
        columns = [dg.TableColumn(name, spec.get("data_type") or "unknown",
                                  description=spec.get("description") or None)
                   for name, spec in dbt_resource_props.get("columns", {}).items()]
        return {"dagster/column_schema": dg.TableSchema(columns=columns),
                "dagster/table_name": f"warehouse.{_relation(dbt_resource_props)}",
                "dbt_unique_id": dbt_resource_props["unique_id"],
                "dbt_path": dbt_resource_props["original_file_path"]}

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any],
                             unique_id: str, project: DbtProject | None
                             ) -> dg.AssetCheckSpec | None:
        """dagster-dbt's check for a test, blocking whatever its severity (a `warn` test that
        fails reports WARN, which blocks nothing), described for a reader of the UI, and on
        the model the test is attached to only (dagster-dbt would add the model a
        relationships test compares with as a dependency of the check)."""
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        test = manifest["nodes"][unique_id]
        return dg.AssetCheckSpec(
            spec.name, asset=spec.asset_key, blocking=True,
            description=test.get("description") or f"dbt test {test['name']}",
            metadata={**(spec.metadata or {}), "dbt_unique_id": unique_id})


# a source's dep stays a plain edge to the lake asset, without the source's table metadata;
# two sources may be one asset (`silver_changes.<table>` reads the files of silver.<table>)
TRANSLATOR = LakehouseDbtTranslator(DagsterDbtTranslatorSettings(
    enable_source_metadata=False, enable_duplicate_source_asset_keys=True))


class DbtResource(VenvDbtCliResource):
    """dagster-dbt's dbt CLI on this repository's project, its profile (beside
    dbt_project.yml) and the venv's dbt, never one found on PATH (which is what lets
    `VenvDbtCliResource` skip dagster-dbt's `dbt --version` subprocess)."""

    def __init__(self, **config: Any) -> None:
        super().__init__(**{"project_dir": DBT_PROJECT, "dbt_executable": DBT_EXECUTABLE,
                            **config})

    @property
    def executable(self) -> str:
        """The dbt this resource runs (`lakehouse dev` builds the dbt docs with it)."""
        return self.dbt_executable


@contextmanager
def _dbt_environment(values: Mapping[str, str]) -> Iterator[None]:
    """``values`` in the environment while dbt starts, then the environment as it was.

    The lakehouse plugin learns the home from dbt's environment: a home in profiles.yml or in
    ``--vars`` would enter dbt's partial-parse state and re-parse the whole project for every
    home. dagster-dbt starts dbt with a copy of ``os.environ`` and takes no environment of its
    own (dagster#29656, declined), so the values are set only around that call, and a run
    that goes on in this process (`lakehouse run`, tests on many homes) never sees them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dbt_assets(manifest=_manifest(), project=DBT_PROJECT, dagster_dbt_translator=TRANSLATOR,
            name="dbt_models")
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtResource,
               lakehouse: LakehouseResource) -> Iterator:
    """`dbt build` (models and their data tests) into the home's build file."""
    # write-audit-publish: analysts get the build only after `gx_warehouse_gate` passes and
    # `warehouse` publishes it
    database = build_path(lakehouse.paths)
    fault("dbt.build.before", str(database))
    # the plugin's variables (lakehouse.warehouse.dbt_plugin: the home, the file it builds)
    with _dbt_environment({"LAKEHOUSE_HOME": str(lakehouse.paths.root),
                           "LAKEHOUSE_DBT_DATABASE": str(database)}):
        invocation = dbt.cli(PRODUCTION_BUILD, context=context, raise_on_error=False)
    # dbt holds the file's write lock while it runs: tables are measured once it is done
    events = list(invocation.stream())
    fault("dbt.build.after", str(database))
    # what dbt built before a model failed is yielded, measured, and then the step fails
    yield from _results(events, database, context, lakehouse.paths.root)
    prune_targets(invocation.target_path, KEEP_TARGETS)
    error = invocation.get_error()
    if error is not None:
        raise error


def prune_targets(current: Path, keep: int, *, now: float | None = None) -> list[Path]:
    """Remove all but the ``keep`` newest target folders of this step's finished invocations
    (siblings of ``current`` named like it, ``<op>-<run>-<uuid>``, holding dbt's
    run_results.json), never ``current``; returns what went. A folder without run results is
    an invocation still running (another run's step) unless a day has passed since it last
    changed (a killed one). Without this every nightly leaves one behind for ever."""
    prefix = current.name.split("-", 1)[0] + "-"
    stale = (time.time() if now is None else now) - 86_400
    siblings = [p for p in current.parent.iterdir()
                if p.is_dir() and p != current and p.name.startswith(prefix)
                and p.name.count("-") == 2
                and ((p / "run_results.json").exists() or p.stat().st_mtime < stale)]
    siblings.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    old = siblings[keep:]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return old


def _results(events: list, database: Path, context: dg.AssetExecutionContext,
             home_root: Path) -> Iterator:
    """dagster-dbt's events, each model's with row count and column schema (DuckDB types, YAML
    descriptions) measured on a short read-only connection, plus what a model reports about
    itself (attribution: credit per channel and model)."""
    import duckdb

    relations = model_relations()
    docs = column_docs()
    con = duckdb.connect(str(database), read_only=True)
    try:
        for event in events:
            if not isinstance(event, dg.Output):  # check results, observations
                yield event
                continue
            key = context.asset_key_for_output(event.output_name)
            relation = relations.get(key)
            extra = _table_metadata(con, relation, docs.get(relation, {})) if relation else {}
            if relation in EXTRA_METADATA:
                extra.update(EXTRA_METADATA[relation](con, home_root))
            yield dg.MaterializeResult(asset_key=key, metadata={**event.metadata, **extra})
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
