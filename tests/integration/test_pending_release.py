"""Pending, not dead (DESIGN.md rule 7), on real Delta tables: rows that reference something not
landed yet wait in the quarantine and reach silver exactly once when it lands; a hand-kept
crosswalk mapping releases codes no catalog lists."""

from __future__ import annotations

import shutil

import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.silver.products import MappingError, read_mapping
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.faults import ENV, InjectedFault
from lakehouse.storage.paths import bronze_uri, quarantine_uri, table_uri
from tests.gated import build_silver, ingest_batch

SIM = SimConfig(persons=60, products=12, stores=2, warehouses=1, days=2, seed=21,
                malformed_rate=0.1)
REFERENCE = ("catalog/", "locations/", "suppliers/suppliers")


def _quarantine(home: Home) -> pl.DataFrame:
    return pl.from_arrow(DeltaTable(quarantine_uri(home)).to_pyarrow_table())


def _silver(home: Home, name: str) -> pl.DataFrame:
    return pl.from_arrow(DeltaTable(table_uri(home, "silver", name)).to_pyarrow_table())


def _batch(home: Home, src: Home, rels: list[str]) -> str:
    for rel in rels:
        (home.landing / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src.landing / rel, home.landing / rel)
    return ingest_batch(home, [f for f in discover(home) if f.relpath in set(rels)])


@pytest.fixture(scope="module")
def src(tmp_path_factory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("pending_src")).ensure()
    simulate(home, SIM)
    return home


@pytest.fixture(scope="module")
def late(src, tmp_path_factory) -> dict:
    """Everything but the reference data first, the reference data second."""
    home = Home.resolve(tmp_path_factory.mktemp("late")).ensure()
    rels = sorted(f.relpath for f in discover(src))
    first = _batch(home, src, [r for r in rels if not r.startswith(REFERENCE)])
    waiting = _quarantine(home)
    second = _batch(home, src, [r for r in rels if r.startswith(REFERENCE)])
    return {"home": home, "first": first, "second": second, "waiting": waiting, "src": src}


def test_rows_wait_for_their_reference_and_are_released_once(late):
    home, waiting = late["home"], late["waiting"]
    kinds = set(waiting["error_kind"])
    # the catalog and the store list had not landed: rows naming a product wait, and till
    # lines in store-local time wait for their store's time zone
    assert {"unknown_product", "unresolved_timezone"} <= kinds
    assert waiting["released_by"].null_count() == waiting.height
    after = _quarantine(home)
    released = after.filter(pl.col("released_by").is_not_null())
    # every row that waited for reference data was released by the second batch, once
    assert released.height > 0
    assert set(released["released_by"]) == {late["second"]}
    assert released["released_at"].null_count() == 0
    still = after.filter(pl.col("released_by").is_null()
                         & pl.col("error_kind").str.starts_with("unknown_"))
    faults = pl.read_parquet(late["src"].truth / "faults.parquet")
    assert still.height == faults.filter(pl.col("kind") == "unknown_product").height
    assert after.height == waiting.height  # released, not re-quarantined


def test_a_released_row_keeps_its_lineage_and_names_its_release(late):
    home = late["home"]
    moves = _silver(home, "inventory_movements")
    released = moves.filter(pl.col("_released_by").is_not_null())
    assert released.height > 0
    assert set(released["_released_by"]) == {late["second"]}
    assert set(released["_batch_id"]) == {late["first"]}  # the batch that brought it
    # exactly once: keys are unique, and a re-run of the releasing batch changes nothing
    assert moves["movement_id"].is_unique().all()
    version = DeltaTable(table_uri(home, "silver", "inventory_movements")).version()
    q_version = DeltaTable(quarantine_uri(home)).version()
    build_silver(home, late["second"])
    assert DeltaTable(table_uri(home, "silver", "inventory_movements")).version() == version
    assert DeltaTable(quarantine_uri(home)).version() == q_version
    # till lines that waited at bronze for their store's time zone are in silver too
    pos = _silver(home, "pos_transaction_lines")
    assert pos.filter(pl.col("_released_by") == late["second"]).height > 0


def test_a_release_that_died_before_its_mark_is_marked_by_the_next_ingest(src, tmp_path,
                                                                          monkeypatch):
    """The store list lands; the till lines waiting for its time zones are appended to bronze,
    and the ingest fails before it records their release. Ingesting again appends nothing and
    records the release: the lines are not left pending for ever (nor re-read every batch)."""
    home = Home.resolve(tmp_path).ensure()
    rels = sorted(f.relpath for f in discover(src))
    _batch(home, src, [r for r in rels if not r.startswith(REFERENCE)])
    waiting = _quarantine(home).filter(pl.col("error_kind") == "unresolved_timezone")
    assert waiting.height > 0
    stores = [r for r in rels if r.startswith("locations/")]
    for rel in stores:
        (home.landing / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src.landing / rel, home.landing / rel)
    files = [f for f in discover(home) if f.relpath in set(stores)]
    batch = batch_id_for(files)
    monkeypatch.setenv(ENV, "raise:quarantine.release.before")
    with pytest.raises(InjectedFault):
        ingest_files(home, files, batch)
    monkeypatch.delenv(ENV)
    till = bronze_uri(home, "pos", "transactions")
    appended = pl.read_delta(till).filter(pl.col("_released_by") == batch).height
    assert appended == waiting.height  # appended, not marked
    assert _quarantine(home).filter(pl.col("released_by").is_not_null()).is_empty()

    ingest_files(home, files, batch)
    bronze = pl.read_delta(till)
    assert bronze.filter(pl.col("_released_by") == batch).height == appended
    assert not bronze.select("_source_file", "_line", "_batch_id").is_duplicated().any()
    marked = _quarantine(home).filter(pl.col("error_kind") == "unresolved_timezone")
    assert marked.height == waiting.height
    assert set(marked["released_by"]) == {batch}


def test_a_mapping_releases_codes_no_catalog_lists(src, tmp_path_factory):
    home = Home.resolve(tmp_path_factory.mktemp("mapped")).ensure()
    rels = sorted(f.relpath for f in discover(src))
    _batch(home, src, rels)
    unknown = _quarantine(home).filter(pl.col("error_kind") == "unknown_product")
    assert unknown.height > 0
    codes = unknown.select("_source_channel", pl.col("reason").str.extract(r"`([^`]+)`"))
    product = _silver(home, "products")["product_id"][0]
    system = {"web": "web", "app": "web", "orders": "web", "returns": "web", "reviews": "web",
              "pos": "pos", "wms": "wms", "suppliers": "wms"}
    mapped = sorted({f"{system[ch]},{code},{product}" for ch, code in codes.iter_rows()})
    lines = ["system,code,product_id", *mapped]
    home.mappings.mkdir(parents=True, exist_ok=True)
    (home.mappings / "product_crosswalk.csv").write_text("\n".join(lines) + "\n")
    build_silver(home, "replay-test")  # a batch of no files: only retries
    after = _quarantine(home).filter(pl.col("error_kind") == "unknown_product")
    assert set(after["released_by"]) == {"replay-test"}
    xw = _silver(home, "product_crosswalk")
    assert xw.filter(pl.col("_source_file") == "mappings/product_crosswalk.csv").height == len(
        lines) - 1
    build_silver(home, "replay-again")  # nothing left to release: nothing released twice
    assert set(_quarantine(home).filter(pl.col("error_kind") == "unknown_product")[
        "released_by"]) == {"replay-test"}


def test_a_bad_mapping_names_file_line_and_field(tmp_path):
    path = tmp_path / "product_crosswalk.csv"
    path.write_text("system,code,product_id\nweb,V-1,PRD-1\nfax,V-2,PRD-2\n")
    with pytest.raises(MappingError, match=r"product_crosswalk.csv line 3: field system is 'fax'"):
        read_mapping(path)
    path.write_text("system,code,product_id\nweb,,PRD-1\n")
    with pytest.raises(MappingError, match=r"line 2: field code is empty"):
        read_mapping(path)
    path.write_text("system,code\nweb,V-1\n")
    with pytest.raises(MappingError, match=r"line 1: header lacks product_id"):
        read_mapping(path)
