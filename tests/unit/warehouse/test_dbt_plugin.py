"""The warehouse's dbt-duckdb plugin on real Delta tables and a real DuckDB connection:
pseudonymise() equals the Python pseudonymiser, sources read their validated version, a
missing table reads empty in the declared shape, declared columns are enforced, partition
values are read as declared, the build has a memory limit."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pytest
from dbt.adapters.duckdb.utils import SourceConfig
from deltalake import DeltaTable, write_deltalake

from lakehouse.identity.pii import load_key, pseudonymise
from lakehouse.storage.duck import MEMORY_ENV
from lakehouse.storage.validations import record_validation
from lakehouse.warehouse.dbt_plugin import (
    DATABASE_ENV,
    INPUTS_TABLE,
    UNVALIDATED_ENV,
    Plugin,
    WarehouseSourceError,
)

COLUMNS = [{"name": "order_id", "data_type": "varchar"},
           {"name": "total", "data_type": "double"},
           {"name": "created_at", "data_type": "timestamptz"},
           {"name": "tags", "data_type": "varchar[]"},
           {"name": "consent", "data_type": "varchar"}]  # an optional field never delivered


def _source(table: str, columns=COLUMNS) -> SourceConfig:
    return SourceConfig(name="silver", identifier=table, schema="main", database="silver",
                        meta={"plugin": "lakehouse", "columns": columns}, tags=[])


def _rows(ids: list[str]) -> pa.Table:
    n = len(ids)
    return pa.table({
        "order_id": ids, "total": [1.5] * n,
        "created_at": pa.array([0] * n, pa.timestamp("us", tz="UTC")),
        "tags": [["a"]] * n, "extra": ["x"] * n, "qty": pa.array([3] * n, pa.uint32()),
    })


def _load(plugin: Plugin, source: SourceConfig) -> pa.Table:
    """The rows the plugin hands dbt-duckdb for a source (a DuckDB relation), as Arrow."""
    return plugin.load(source).to_arrow_table()


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Plugin:
    monkeypatch.delenv(UNVALIDATED_ENV, raising=False)
    monkeypatch.delenv("LAKEHOUSE_HMAC_KEY", raising=False)
    return Plugin(name="lakehouse", plugin_config={"home": str(tmp_path)})


def test_pseudonymise_equals_the_python_pseudonymiser(plugin: Plugin, tmp_path: Path) -> None:
    conn = duckdb.connect()
    plugin.configure_connection(conn)
    key = load_key(tmp_path)
    values = ["a@example.com", "+1 555 0100", "Ada Lovelace", "", "ü-ñ", "x\x00y", None]
    conn.register("v", pa.table({"x": pa.array(values * 500, pa.string())}))
    got = [r[0] for r in conn.execute("select pseudonymise(x) from v").fetchall()]
    assert got == [pseudonymise(v, key) for v in values] * 500
    cursor = conn.cursor()  # what dbt-duckdb runs models on, configured as it does
    plugin.configure_cursor(cursor)
    assert cursor.execute("select pseudonymise('a@example.com')").fetchall() == [
        (pseudonymise("a@example.com", key),)]


def test_the_key_never_reaches_the_build_file(plugin: Plugin, tmp_path: Path) -> None:
    """pseudonymise() is a temporary macro holding the padded key: a table built with it, in
    a file, holds the hashes and nothing of the key, in the file or its log."""
    database = tmp_path / "warehouse.duckdb"
    conn = duckdb.connect(str(database))
    plugin.configure_connection(conn)
    cursor = conn.cursor()
    plugin.configure_cursor(cursor)
    cursor.execute("create table hashed as select pseudonymise('a@example.com') as h")
    cursor.execute("create view hashing as select pseudonymise('b@example.com') as h")
    assert "pseudonymise" not in {r[0] for r in cursor.execute(
        "select function_name from duckdb_functions() where not internal "
        "and database_name = 'warehouse'").fetchall()}
    conn.close()
    stored = database.read_bytes() + b"".join(
        p.read_bytes() for p in tmp_path.glob("warehouse.duckdb.wal"))
    key = load_key(tmp_path)
    inner, outer = (bytes(b ^ pad for b in key.ljust(64, b"\0")) for pad in (0x36, 0x5C))
    for secret in (key, inner.hex().encode(), outer.hex().encode()):
        assert secret not in stored
    assert pseudonymise("a@example.com", key).encode() in stored


def test_without_a_key_pseudonymise_fails_when_called_with_the_reason(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LAKEHOUSE_HMAC_KEY", raising=False)
    monkeypatch.setenv("LAKEHOUSE_ENV", "production")
    plugin = Plugin(name="lakehouse", plugin_config={"home": str(tmp_path)})
    conn = duckdb.connect()
    plugin.configure_connection(conn)  # a command that hashes nothing still runs
    assert conn.execute("select 1").fetchall() == [(1,)]
    with pytest.raises(duckdb.Error, match="LAKEHOUSE_HMAC_KEY is not set"):
        conn.execute("select pseudonymise('a@example.com')").fetchall()


def test_the_connection_opens_the_home_build_file_not_the_profile_path(
        plugin: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dbt.adapters.duckdb.credentials import DuckDBCredentials

    creds = DuckDBCredentials.from_dict({"path": "warehouse.duckdb", "schema": "main"})
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    plugin.update_connection_config(creds, {})
    assert creds.path == str(tmp_path / "warehouse.duckdb")
    monkeypatch.setenv(DATABASE_ENV, str(tmp_path / "build" / "warehouse.build.duckdb"))
    plugin.update_connection_config(creds, {})
    assert creds.path == str(tmp_path / "build" / "warehouse.build.duckdb")
    # DuckDB names the catalog after the file: another name would build nowhere dbt looks
    monkeypatch.setenv(DATABASE_ENV, str(tmp_path / "marts.duckdb"))
    with pytest.raises(WarehouseSourceError, match=r"catalog 'marts'.*name the file warehouse"):
        plugin.update_connection_config(creds, {})


def test_reads_the_validated_version_not_a_newer_one(plugin: Plugin, tmp_path: Path) -> None:
    uri = tmp_path / "lake" / "silver" / "orders"
    write_deltalake(str(uri), _rows(["o1", "o2"]))
    record_validation(uri, 0, "silver.orders", 2)
    write_deltalake(str(uri), _rows(["o3"]), mode="append")  # version 1, not validated
    conn = duckdb.connect()
    plugin.configure_connection(conn)
    relation = plugin.load(_source("orders"))
    # only declared columns, declared types; a declared column the table lacks is null
    assert relation.columns == [c["name"] for c in COLUMNS]
    assert [str(t) for t in relation.types] == [
        "VARCHAR", "DOUBLE", "TIMESTAMP WITH TIME ZONE", "VARCHAR[]", "VARCHAR"]
    table = relation.to_arrow_table()
    assert sorted(table.column("order_id").to_pylist()) == ["o1", "o2"]
    assert table.column("consent").null_count == 2
    assert conn.execute(f"select table_name, version, validated, row_count from {INPUTS_TABLE}"
                        ).fetchall() == [("orders", 0, True, 2)]


def test_unvalidated_table_fails_naming_it_unless_allowed(
        plugin: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    uri = tmp_path / "lake" / "silver" / "orders"
    write_deltalake(str(uri), _rows(["o1"]))
    with pytest.raises(WarehouseSourceError, match=r"silver/orders.*quality gate"):
        plugin.load(_source("orders"))
    monkeypatch.setenv(UNVALIDATED_ENV, "1")
    write_deltalake(str(uri), _rows(["o2"]), mode="append")
    assert DeltaTable(str(uri)).version() == 1
    assert _load(plugin, _source("orders")).num_rows == 2  # the latest version


def test_missing_table_reads_empty_in_the_declared_shape(plugin: Plugin) -> None:
    relation = plugin.load(_source("never_delivered"))
    assert relation.to_arrow_table().num_rows == 0
    assert relation.columns == [c["name"] for c in COLUMNS]
    assert [str(t) for t in relation.types] == [
        "VARCHAR", "DOUBLE", "TIMESTAMP WITH TIME ZONE", "VARCHAR[]", "VARCHAR"]


def test_declarations_are_enforced(plugin: Plugin, tmp_path: Path,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UNVALIDATED_ENV, "1")
    write_deltalake(str(tmp_path / "lake" / "silver" / "orders"), _rows(["o1"]))
    wrong = [{"name": "total", "data_type": "bigint"}]
    with pytest.raises(WarehouseSourceError, match=r"column total is double.*declared int64"):
        plugin.load(_source("orders", wrong))
    # numbers are cast to the declared width (checked), kinds must agree
    widened = _load(plugin, _source("orders", [{"name": "qty", "data_type": "bigint"}]))
    assert widened.schema.field("qty").type == pa.int64()
    assert widened.column("qty").to_pylist() == [3]
    with pytest.raises(WarehouseSourceError, match=r"column qty is int\d+.*declared string"):
        plugin.load(_source("orders", [{"name": "qty", "data_type": "varchar"}]))
    with pytest.raises(WarehouseSourceError, match="declares no columns"):
        plugin.load(_source("orders", None))
    with pytest.raises(WarehouseSourceError, match="no data_type"):
        plugin.load(_source("orders", [{"name": "total"}]))


def test_partition_values_read_as_declared_and_narrowing_is_checked(
        plugin: Plugin, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UNVALIDATED_ENV, "1")
    uri = str(tmp_path / "lake" / "silver" / "stores")
    write_deltalake(uri, pa.table({"store": ["007", "010", None], "size": [1, 2, 2**40]}),
                    partition_by=["store"])
    declared = [{"name": "store", "data_type": "varchar"}, {"name": "size", "data_type": "bigint"}]
    rows = _load(plugin, _source("stores", declared)).sort_by("size").to_pylist()
    # text that looks like a number stays text: the path's value is not guessed into an integer
    assert rows == [{"store": "007", "size": 1}, {"store": "010", "size": 2},
                    {"store": None, "size": 2**40}]
    narrow = [{"name": "size", "data_type": "integer"}]
    with pytest.raises(duckdb.Error, match=r"(?i)out of range|overflow|conversion"):
        _load(plugin, _source("stores", narrow))  # 2**40 does not fit: fails, never wraps


def test_the_build_runs_under_a_memory_limit(plugin: Plugin,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def limit() -> str:
        conn = duckdb.connect()
        plugin.configure_connection(conn)
        return conn.execute("select current_setting('memory_limit')").fetchall()[0][0]

    monkeypatch.delenv(MEMORY_ENV, raising=False)
    assert limit() == "1.8 GiB"  # the default 2GB, as DuckDB prints it
    monkeypatch.setenv(MEMORY_ENV, "512MB")
    assert limit() == "488.2 MiB"


def test_the_attribution_model_gives_duckdb_back_the_build_limit():
    """The Python attribution model lowers DuckDB's limit while its frames are in memory; its
    post-hook must restore the build's own limit: the same variable and default as
    ``lakehouse.storage.duck``, outside the model's transaction (a transaction begun before
    the Python job would not see the table it creates)."""
    import yaml

    from lakehouse.storage.duck import MEMORY_LIMIT

    models = Path(__file__).parents[3] / "dbt_project/models/intermediate/marketing"
    spec = yaml.safe_load((models / "_int_marketing__models.yml").read_text())
    config = next(m for m in spec["models"] if m["name"] == "int_attribution__credits")["config"]
    (pre,), (post,) = config["pre_hook"], config["post_hook"]
    assert pre["transaction"] is False and post["transaction"] is False
    assert "set memory_limit" in pre["sql"]
    assert post["sql"] == (f"set memory_limit = '{{{{ env_var('{MEMORY_ENV}', "
                           f"'{MEMORY_LIMIT}') }}}}'")


def _changes(table: str, held_in: str | None) -> SourceConfig:
    meta = {"plugin": "lakehouse", "changes_of": "silver", "columns": LAKE_FILE_COLUMNS}
    if held_in:
        meta["held_in"] = held_in
    return SourceConfig(name="silver_changes", identifier=table, schema="main",
                        database="silver_changes", meta=meta, tags=[])


LAKE_FILE_COLUMNS = [*COLUMNS[:2], {"name": "_lake_file", "data_type": "varchar"}]


def test_a_changes_source_reads_only_the_files_its_model_has_not_read(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The model holds each row's file; the next build reads only the snapshot's other files
    and lists the held files the snapshot no longer has: held rows minus those, plus the rows
    read, are the whole snapshot."""
    monkeypatch.delenv(UNVALIDATED_ENV, raising=False)
    uri = tmp_path / "lake" / "silver" / "orders"
    write_deltalake(str(uri), _rows(["o1", "o2"]))
    write_deltalake(str(uri), _rows(["o3"]), mode="append")
    record_validation(uri, 1, "silver.orders", 3)
    conn = duckdb.connect()
    first = Plugin(name="lakehouse", plugin_config={"home": str(tmp_path)})
    first.configure_connection(conn)
    whole = first.load(_source("orders", LAKE_FILE_COLUMNS))
    conn.execute("create schema staging")
    conn.execute("create table staging.stg as select * from whole")
    files = {r["order_id"]: r["_lake_file"] for r in whole.to_arrow_table().to_pylist()}
    assert files["o1"] == files["o2"] != files["o3"]
    assert not files["o1"].startswith("/") and files["o1"].endswith(".parquet")

    dt = DeltaTable(str(uri))
    dt.delete("order_id = 'o1'")  # rewrites the file of o1 and o2
    write_deltalake(str(uri), _rows(["o4"]), mode="append")
    dt = DeltaTable(str(uri))
    record_validation(uri, dt.version(), "silver.orders", 3)
    write_deltalake(str(uri), _rows(["o5"]), mode="append")  # not validated: not read
    nightly = Plugin(name="lakehouse", plugin_config={"home": str(tmp_path)})
    nightly.configure_connection(conn)
    read = nightly.load(_changes("orders", "staging.stg")).to_arrow_table()
    assert sorted(read.column("order_id").to_pylist()) == ["o2", "o4"]  # o3's file is held
    removed = conn.execute('select _lake_file from silver_changes.main."orders__removed"'
                           ).fetchall()
    assert removed == [(files["o1"],)]
    conn.execute("delete from staging.stg where _lake_file in "
                 '(select _lake_file from silver_changes.main."orders__removed")')
    conn.register("read_rows", read)
    conn.execute("insert into staging.stg select * from read_rows")
    full = Plugin(name="lakehouse", plugin_config={"home": str(tmp_path)})
    full.configure_connection(duckdb.connect())
    expected = full.load(_source("orders", LAKE_FILE_COLUMNS)).to_arrow_table()
    got = conn.sql("select * from staging.stg order by order_id").to_arrow_table()
    assert got.to_pylist() == expected.sort_by("order_id").to_pylist()
    # the version read is recorded like a plain source's, with the snapshot's row count
    assert conn.execute(f"select layer, table_name, version, row_count from {INPUTS_TABLE}"
                        ).fetchall() == [("silver", "orders", dt.version(), 3)]

    with pytest.raises(WarehouseSourceError, match=r"silver_changes\.orders.*held_in"):
        nightly.load(_changes("orders", None))
