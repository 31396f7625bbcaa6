"""dbt-duckdb plugin: Delta sources at their validated version, and ``pseudonymise()`` in SQL.

Referenced from ``dbt_project/profiles.yml`` (``module: lakehouse.warehouse.dbt_plugin``,
``alias: lakehouse``). A source declares ``meta: {plugin: lakehouse}``; its dbt ``database`` is
the lake layer (``silver`` or ``gold``) and its identifier the table name, so the source
``silver.orders`` reads ``$LAKEHOUSE_HOME/lake/silver/orders``.

- **The build file** is ``$LAKEHOUSE_DBT_DATABASE``, else ``$LAKEHOUSE_HOME/warehouse.duckdb``:
  the plugin points the connection there (``update_connection_config``), so the profile's
  ``path`` stays constant and dbt's partial parsing survives a change of home.
- **Validated versions only.** A table is read at the newest version that passed its quality
  gate (``lakehouse.storage.validations``), pinned once per build. A table without one fails
  the build naming it, unless ``LAKEHOUSE_WAREHOUSE_UNVALIDATED=1`` (tests, development), which
  reads the latest version. Every table read is recorded in ``lakehouse_meta.warehouse_inputs``
  (one row per source: layer, table, version, when that version was committed, whether it was
  validated, rows, when, dbt invocation), out of the analysts' ``main`` schema; the
  ``mart_freshness`` model turns it into each mart's freshness.
- **A channel that never delivered** (no Delta table yet) reads as an empty table with the
  columns and types the source YAML declares (``meta.columns``, see below), so models build.
- **Declared columns only.** Only the columns a source declares are read (projection), in the
  declared types; a declared column the table lacks (an optional field that never arrived) is
  null; a declared type of another kind than the table's (text for a number, a date for a
  timestamp) fails naming both, while numbers are cast (checked) to the declared width.
- **No raw data in the warehouse file.** Sources are materialised as tables in in-memory
  catalogs (``silver``, ``gold``) attached to the build's connection, never in the warehouse:
  staging models hash PII with ``pseudonymise()`` before anything is persisted, and nothing
  in the warehouse is a view over in-process Arrow (views that would break for every later
  reader). This needs ``keep_open: true`` in the profile (one connection per dbt process).
- **Read by DuckDB, within a memory limit.** A source is a DuckDB query over its snapshot's
  Parquet files (``source_query``), which dbt-duckdb copies into the in-memory catalog inside
  DuckDB: no whole table passes through Python memory, files are read in parallel, and the
  build's DuckDB runs under ``$LAKEHOUSE_DUCKDB_MEMORY_LIMIT`` (default ``2GB``), spilling past
  it to the build file's ``.tmp`` folder (in-memory catalogs spill too).
- **Only the files a model has not read** (``changes_of``). A source whose meta says
  ``changes_of: <layer>`` reads the same table as the plain source, but only the Parquet files
  of the validated snapshot that the model named by ``held_in`` holds no row of: each row of
  such a model carries ``_lake_file`` (declared like any column; filled by the plugin with
  the row's file, relative to the table's root). Delta files are immutable, so the snapshot is
  the files the model holds, minus the files the snapshot no longer has (listed in
  ``<catalog>.main."<table>__removed"``, whose rows the model deletes), plus the files read
  here. ``dbt_project/macros/lake_files.sql`` builds a staging model that way.
- ``pseudonymise(varchar) -> varchar`` equals ``lakehouse.identity.pii.pseudonymise`` with the
  home's key (``LAKEHOUSE_HMAC_KEY``, else the home's development key).

Column declarations: the source YAML lists ``columns`` with ``data_type`` (DuckDB type names)
and passes the same list to the plugin through a YAML anchor (``meta: {columns: *orders}``),
because dbt-duckdb hands plugins a source's meta, not its columns.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt.adapters.duckdb.utils import SourceConfig
from deltalake import DeltaTable

from lakehouse.identity.pii import MACRO, MissingKeyError, install_pseudonymise, load_key
from lakehouse.storage.duck import (
    base_tables,
    bound_memory,
    parquet_scan,
    quoted,
    snapshot_files,
)
from lakehouse.storage.objects import attach, lake_root
from lakehouse.storage.validations import validated_versions

UNVALIDATED_ENV = "LAKEHOUSE_WAREHOUSE_UNVALIDATED"
DATABASE_ENV = "LAKEHOUSE_DBT_DATABASE"
LAYERS = ("silver", "gold")  # attached in-memory catalogs, one per lake layer read
CHANGES = "_changes"  # the catalog of a layer's `changes_of` sources: silver_changes
LAKE_FILE = "_lake_file"  # a row's Parquet file, relative to its table's root
INPUTS_SCHEMA = "lakehouse_meta"
INPUTS_TABLE = f"{INPUTS_SCHEMA}.warehouse_inputs"

_INPUTS_DOCS = {
    f"TABLE {INPUTS_TABLE}": "Lake table versions the warehouse build read (one row per source)",
    f"COLUMN {INPUTS_TABLE}.layer": "Lake layer: silver or gold",
    f"COLUMN {INPUTS_TABLE}.table_name": "Delta table name under the layer",
    f"COLUMN {INPUTS_TABLE}.uri": "Delta table location",
    f"COLUMN {INPUTS_TABLE}.version": "Delta version read; null when the table did not exist",
    f"COLUMN {INPUTS_TABLE}.committed_at": "When that version was committed to the lake: how "
    "fresh the input is",
    f"COLUMN {INPUTS_TABLE}.validated": "True when that version passed its quality gate",
    f"COLUMN {INPUTS_TABLE}.row_count": "Rows in that version (a model built from the files "
    "it had not read yet read fewer)",
    f"COLUMN {INPUTS_TABLE}.loaded_at": "When the build read it",
    f"COLUMN {INPUTS_TABLE}.invocation_id": "dbt invocation that read it",
}

# DuckDB type names (as written in source YAML ``data_type``) -> Arrow
_TYPES: dict[str, pa.DataType] = {
    "varchar": pa.string(), "text": pa.string(), "string": pa.string(),
    "bigint": pa.int64(), "integer": pa.int32(), "int": pa.int32(), "smallint": pa.int16(),
    "tinyint": pa.int8(),
    "double": pa.float64(), "float": pa.float32(), "boolean": pa.bool_(), "date": pa.date32(),
    "timestamp": pa.timestamp("us"),
    "timestamptz": pa.timestamp("us", tz="UTC"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
}


class WarehouseSourceError(RuntimeError):
    """A source cannot be read as declared (unvalidated, undeclared, or a type mismatch)."""


def arrow_type(data_type: str) -> pa.DataType:
    """The Arrow type of a DuckDB type name, including ``T[]`` lists."""
    name = " ".join(str(data_type).lower().split())
    if name.endswith("[]"):
        return pa.list_(arrow_type(name[:-2]))
    if name not in _TYPES:
        raise WarehouseSourceError(f"unsupported data_type {data_type!r} in a source declaration")
    return _TYPES[name]


def declared_types(columns: Any, source: str) -> dict[str, str]:
    """Column -> DuckDB type name of a source's declared columns (list of {name, data_type} or
    a {name: data_type} mapping); every type one :func:`arrow_type` knows."""
    if not columns:
        raise WarehouseSourceError(
            f"source {source} declares no columns: list them with data_type in its YAML and pass "
            "them to the plugin as meta.columns")
    items = (columns.items() if isinstance(columns, dict)
             else ((c["name"], c.get("data_type")) for c in columns))
    types = {}
    for name, data_type in items:
        if not data_type:
            raise WarehouseSourceError(f"source {source} column {name} has no data_type")
        arrow_type(data_type)  # known, or fail naming it
        types[name] = " ".join(str(data_type).lower().split())
    return types


def _same_kind(actual: pa.DataType, wanted: pa.DataType) -> bool:
    """Equal up to the physical flavour of strings and lists (string/large/view) and the width
    of numbers (any integer into any integer or float, any float into a float: the cast to
    the declared type is checked, so an overflow fails instead of wrapping)."""
    if pa.types.is_integer(actual) and (pa.types.is_integer(wanted)
                                        or pa.types.is_floating(wanted)):
        return True
    if pa.types.is_floating(actual) and pa.types.is_floating(wanted):
        return True
    def norm(t: pa.DataType) -> Any:
        if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
            return "string"
        if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_list_view(t):
            return ("list", norm(t.value_type))
        return t
    return norm(actual) == norm(wanted)


def _root(dt: DeltaTable) -> str:
    return dt.table_uri.removeprefix("file://").rstrip("/") + "/"


def lake_files(dt: DeltaTable) -> dict[str, str]:
    """The snapshot's Parquet files: path relative to the table's root (a row's
    ``_lake_file``) -> what DuckDB reads."""
    root = _root(dt)
    return {f.removeprefix(root): f for f in snapshot_files(dt)}


def source_query(dt: DeltaTable | None, uri: str, types: dict[str, str],
                 source: str, only: list[str] | None = None) -> tuple[str, int | None]:
    """DuckDB SQL selecting the declared columns of the snapshot ``dt`` of the table at
    ``uri`` from its Parquet files (``only`` these of them, when given), cast (checked) to the
    declared types, and the snapshot's row count from the Delta log (None when a file's add
    action has no count); a query for no rows in the declared shape when there is no Delta
    table (``dt`` None). A declared ``_lake_file`` is each row's file (see
    :func:`lake_files`).

    SQL over the snapshot's files, not an Arrow table: DuckDB reads them in parallel, only the
    declared columns, and keeps what it copies in its own buffer manager (which spills under
    the build's memory limit) instead of a whole table in Python memory."""
    nothing = ", ".join(f"null::{t} as {quoted(c)}" for c, t in types.items())
    if dt is None:
        return f"select {nothing} where false", 0
    present = {f.name: f.type for f in pa.schema(dt.schema().to_arrow())}  # arro3 -> pyarrow
    for name, data_type in types.items():
        wanted = arrow_type(data_type)
        if name in present and not _same_kind(present[name], wanted):
            raise WarehouseSourceError(
                f"source {source}: column {name} is {present[name]} in {uri} but declared "
                f"{wanted}")
    counts = pa.table(dt.get_add_actions(flatten=True)).column("num_records")
    rows = None if counts.null_count else int(pc.sum(counts).as_py() or 0)
    files = snapshot_files(dt) if only is None else only
    if not files:
        return f"select {nothing} where false", 0 if only is None else rows
    root = _root(dt)

    def column(name: str, data_type: str) -> str:
        if name == LAKE_FILE:
            prefix = root.replace("'", "''")
            return (f"cast(case when starts_with(filename, '{prefix}') then substr(filename, "
                    f"{len(root) + 1}) else filename end as {data_type}) as {quoted(name)}")
        if name in present:
            return f"cast({quoted(name)} as {data_type}) as {quoted(name)}"
        return f"null::{data_type} as {quoted(name)}"

    columns = ", ".join(column(c, t) for c, t in types.items())
    return parquet_scan(files, columns, typed_partitions=False,
                        filename=LAKE_FILE in types), rows


def committed_at(uri: str, version: int | None) -> datetime | None:
    """When ``version`` of the table was committed (its commit's timestamp)."""
    if version is None:
        return None
    # from the latest snapshot back to ``version``: the history of a snapshot loaded at an
    # older version numbers its commits wrongly (deltalake 1.x)
    latest = DeltaTable(uri)
    for commit in latest.history(latest.version() - version + 1):
        if commit.get("version") == version:
            return datetime.fromtimestamp(commit["timestamp"] / 1000, UTC)
    return None  # vacuumed out of the log: unknown


def _create_inputs_table(cur) -> None:
    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {INPUTS_SCHEMA}")
    cur.execute(f"""CREATE TABLE IF NOT EXISTS {INPUTS_TABLE} (
        layer VARCHAR, table_name VARCHAR, uri VARCHAR, version BIGINT,
        committed_at TIMESTAMP WITH TIME ZONE, validated BOOLEAN, row_count BIGINT,
        loaded_at TIMESTAMP WITH TIME ZONE, invocation_id VARCHAR)""")
    for target, text in _INPUTS_DOCS.items():
        cur.execute(f"COMMENT ON {target} IS '{text}'")


def database_path(home: Path) -> Path:
    """The DuckDB file dbt builds: ``$LAKEHOUSE_DBT_DATABASE`` (the lakehouse runner's build
    file, the docs copy), else the home's ``warehouse.duckdb``."""
    raw = os.environ.get(DATABASE_ENV)
    return Path(raw).expanduser().resolve() if raw else home / "warehouse.duckdb"


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._home_config = plugin_config.get("home")
        self._lock = threading.Lock()
        self._versions: dict[str, int] | None = None
        self._key: bytes | None = None
        self._conn = None
        self._inputs_ready = False

    # -- the home, its key and its validated versions (resolved lazily: `dbt parse` needs none)
    @property
    def home(self) -> Path:
        raw = self._home_config or os.environ.get("LAKEHOUSE_HOME")
        if not raw:
            raise WarehouseSourceError("LAKEHOUSE_HOME is not set: the warehouse build needs the "
                                       "lakehouse home to read its Delta tables")
        return Path(raw).expanduser().resolve()

    @property
    def key(self) -> bytes:
        if self._key is None:
            self._key = load_key(self.home)
        return self._key

    def validated(self) -> dict[str, int]:
        with self._lock:
            if self._versions is None:  # pinned once per build: one consistent snapshot
                self._versions = validated_versions(lake_root(self.home / "lake"))
            return self._versions

    # -- connection
    def update_connection_config(self, creds, config: dict[str, Any]) -> None:
        """Open the home's build file, not the profile's constant ``path`` (see
        ``profiles.yml``: a per-home path there would defeat dbt's partial parsing)."""
        path = database_path(self.home)
        catalog = creds.path_derived_database_name(str(path))
        if catalog != creds.database:
            raise WarehouseSourceError(
                f"the dbt build file {path} would open as the DuckDB catalog {catalog!r}, but the "
                f"models are built into {creds.database!r}: name the file "
                f"{creds.database}*.duckdb (${DATABASE_ENV})")
        creds.path = str(path)

    def configure_connection(self, conn) -> None:
        self._conn = conn
        # one limit for the whole build (DuckDB's is per database, shared by dbt's threads);
        # it spills to the build file's `.tmp` folder
        bound_memory(conn, spill=False)
        # a lake on an object store: DuckDB reads its files through pyarrow's client,
        # registered once here (re-registering while another thread reads crashes DuckDB)
        attach(conn)
        for layer in LAYERS:
            conn.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {layer}")
            conn.execute(f"ATTACH IF NOT EXISTS ':memory:' AS {layer}{CHANGES}")
        self.configure_cursor(conn)  # queries the plugin runs on the connection itself

    def configure_cursor(self, cursor) -> None:
        """``pseudonymise()`` on each cursor dbt-duckdb opens (a node's): a temporary macro,
        in DuckDB's own SQL (``lakehouse.identity.pii.install_pseudonymise``), so it never
        reaches the build file and hashes on every core without the GIL. Without a key
        (no home, or production without ``LAKEHOUSE_HMAC_KEY``) the macro fails when
        called, with the reason: commands that hash nothing still run."""
        try:
            key = self.key
        except (MissingKeyError, WarehouseSourceError) as e:
            reason = str(e).replace("'", "''")
            cursor.execute(f"create or replace temp macro {MACRO}(v) as error('{reason}')")
            return
        install_pseudonymise(cursor, key)

    # -- sources
    def load(self, source_config: SourceConfig) -> duckdb.DuckDBPyRelation:
        """The source as a DuckDB relation over its validated snapshot's files; dbt-duckdb
        copies it into the layer's in-memory catalog (``CREATE TABLE ... AS``), inside DuckDB.
        A ``changes_of`` source reads only the files its model has not read (module doc)."""
        changes_of = source_config.get("changes_of")
        layer = changes_of or source_config.get("layer") or source_config.database
        table = source_config.get("table") or source_config.identifier
        name = f"{layer}/{table}"
        types = declared_types(source_config.get("columns"), name)
        uri = str(lake_root(self.home / "lake") / layer / table)
        dt = DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None
        version = self.validated().get(name)
        validated = dt is not None and version is not None
        if dt is not None and version is None:
            if os.environ.get(UNVALIDATED_ENV) != "1":
                raise WarehouseSourceError(
                    f"{name}: no version of {uri} has passed its quality gate yet, so the "
                    f"warehouse will not read it (set {UNVALIDATED_ENV}=1 to read the latest "
                    "unvalidated version in development)")
            version = dt.version()  # pinned, then read at exactly this version
        if dt is not None and dt.version() != version:
            dt.load_as_version(version)
        with self._lock:
            if self._conn is None:  # loaded outside a dbt connection (a test, a script)
                self.configure_connection(duckdb.connect())
            conn = self._conn
            only = None
            if changes_of:
                only = self._unread_files(dt, source_config, table, name)
            sql, rows = source_query(dt, uri, types, name, only)
            if rows is None:  # a file without a count in the log: count the snapshot's rows
                whole = sql if only is None else source_query(dt, uri, types, name)[0]
                rows = conn.execute(f"select count(*) from ({whole})").fetchall()[0][0]
            relation = conn.sql(sql)
        self._record(layer, table, uri, version, validated, rows)
        return relation

    def _unread_files(self, dt: DeltaTable | None, source_config: SourceConfig, table: str,
                      name: str) -> list[str]:
        """The snapshot's files that the ``held_in`` model holds no row of; the files it holds
        that the snapshot no longer has go to ``<catalog>.main."<table>__removed"``."""
        held_in = source_config.get("held_in")
        if not held_in:
            raise WarehouseSourceError(
                f"source {source_config.database}.{table} reads the changes of {name} but names "
                "no model holding its rows (meta.held_in: schema.model)")
        files = lake_files(dt) if dt is not None else {}
        schema, _, model = held_in.rpartition(".")
        cur = self._conn.cursor()
        try:
            exists = (schema or "main", model) in base_tables(cur)
            held = {f for (f,) in cur.execute(
                f"select distinct {LAKE_FILE} from {held_in}").fetchall()} if exists else set()
            removed = sorted(held - set(files))
            cur.execute(f'create or replace table {source_config.database}.main.'
                        f'"{table}__removed" ({LAKE_FILE} varchar)')
            if removed:
                cur.execute(f'insert into {source_config.database}.main."{table}__removed" '
                            "select unnest(?)", [removed])
        finally:
            cur.close()
        return [uri for rel, uri in files.items() if rel not in held]

    def _record(self, layer: str, table: str, uri: str, version: int | None, validated: bool,
                rows: int) -> None:
        if self._conn is None:
            return
        try:
            from dbt_common.invocation import get_invocation_id
            invocation = get_invocation_id()
        except Exception:
            invocation = None
        with self._lock:
            cur = self._conn.cursor()
            try:
                if not self._inputs_ready:  # created on the first read: a connection that only
                    _create_inputs_table(cur)  # queries (row counts, docs) writes nothing
                    self._inputs_ready = True
                cur.execute(f"DELETE FROM {INPUTS_TABLE} WHERE layer = ? AND table_name = ?",
                            [layer, table])
                cur.execute(f"INSERT INTO {INPUTS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            [layer, table, uri, version, committed_at(uri, version), validated,
                             rows, datetime.now(UTC), invocation])
            finally:
                cur.close()

    def default_materialization(self) -> str:
        return "table"
