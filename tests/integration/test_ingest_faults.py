"""Every fault the simulator injects lands in quarantine with its kind; every valid row in bronze.

The simulator's truth (`faults.parquet`) names the file, line and kind of each corrupted row,
so this checks ingestion end to end against it, on real landing files and real Delta tables.
"""

from collections import Counter

import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest import batch_id_for, discover, ingest_files
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.paths import quarantine_uri
from tests.gated import build_silver

CONFIG = SimConfig(persons=250, products=30, stores=2, warehouses=1, days=8,
                   malformed_rate=0.03, late_rate=0.05, duplicate_rate=0.03)


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    home = Home.resolve(tmp_path_factory.mktemp("faults")).ensure()
    simulate(home, CONFIG)
    files = discover(home)
    result = ingest_files(home, files, batch_id_for(files))
    silver = build_silver(home, batch_id_for(files))
    return home, result, silver


def _faults(home: Home) -> pl.DataFrame:
    faults = pl.read_parquet(home.truth / "faults.parquet")
    return faults.with_columns(file=pl.col("channel") + "/" + pl.col("file"))


def test_every_injected_fault_is_quarantined_with_its_kind(lake):
    home, _, _ = lake
    faults = _faults(home)
    assert set(faults["kind"]) == {"broken_json", "missing_required", "wrong_type",
                                   "negative_quantity", "unknown_product", "bad_timestamp",
                                   "future_timestamp", "encoding_error"}
    quarantined = pl.from_arrow(DeltaTable(quarantine_uri(home)).to_pyarrow_table())
    joined = faults.join(quarantined, left_on=["file", "line"],
                         right_on=["_source_file", "_line"], how="left")
    missing = joined.filter(pl.col("error_kind").is_null())
    assert missing.height == 0, f"faults not quarantined: {missing.head(5).to_dicts()}"
    wrong_kind = joined.filter(pl.col("error_kind") != pl.col("kind"))
    assert wrong_kind.height == 0, wrong_kind.select(
        "file", "line", "kind", "error_kind", "reason").head(5).to_dicts()
    assert all(r.startswith(f) for f, r in zip(joined["file"], joined["reason"], strict=True))


def test_nothing_but_the_faults_is_quarantined_and_counts_balance(lake):
    home, result, silver = lake
    faults = _faults(home)
    quarantined = pl.from_arrow(DeltaTable(quarantine_uri(home)).to_pyarrow_table())
    assert quarantined.height == faults.height
    assert result.rows_read == result.rows_bronze + result.rows_quarantined
    bronze_faults = faults.filter(pl.col("kind") != "unknown_product").height
    assert result.rows_quarantined == bronze_faults
    assert silver.quarantined == faults.height - bronze_faults
    # per file, the simulator's row count = rows read (bronze + quarantine); a locations
    # document also carries the shipping rates, which the simulator does not count as rows
    records = pl.read_parquet(home.truth / "records.parquet").select(
        (pl.col("channel") + "/" + pl.col("file")).alias("file"), "rows",
    ).filter(pl.col("file").str.starts_with("locations/").not_())
    read = {f.relpath: f.rows_read for f in result.files}
    assert {f: read[f] for f in records["file"]} == dict(records.iter_rows())
    kinds = Counter(quarantined["error_kind"])
    assert kinds == Counter(faults["kind"])


def test_groups_and_threads_land_what_one_file_at_a_time_lands(lake, tmp_path, monkeypatch):
    """Files of an entity are parsed, validated and typed together, groups on a thread pool;
    one file per group on one thread (the plain path) gives the same bronze and quarantine."""
    import shutil

    from lakehouse.ingest.bronze import plan, run
    from lakehouse.storage import read_table

    home, result, _ = lake
    plain = Home.resolve(tmp_path / "plain").ensure()
    shutil.copytree(home.landing, plain.landing, dirs_exist_ok=True)
    monkeypatch.setattr(run, "WORKERS", 1)
    monkeypatch.setattr(plan, "GROUP_BYTES", 1)  # every file its own group
    files = discover(plain)
    again = ingest_files(plain, files, batch_id_for(files), now=_now_of(home))
    assert [vars(f) for f in again.files] == [vars(f) for f in result.files]
    for table in [*(p.name for p in home.bronze.iterdir()), "rows"]:
        root = (lambda h: h.quarantine) if table == "rows" else (lambda h: h.bronze)
        a, b = (read_table(str(root(h) / table)).drop("_ingested_at") for h in (home, plain))
        if table == "rows":  # silver's unknown_product rows are only in the fixture's lake
            a = a.filter(pl.col("error_kind") != "unknown_product")
            a, b = (f.with_columns(pl.col("reason").str.replace(r"ingest time \S+", ""))
                    for f in (a, b))
        assert a.columns == b.columns, table
        assert a.sort(a.columns, nulls_last=True).equals(b.sort(b.columns, nulls_last=True)), \
            table


def _now_of(home: Home):
    stamp = pl.from_arrow(DeltaTable(quarantine_uri(home)).to_pyarrow_table())["_ingested_at"]
    return stamp.max()
