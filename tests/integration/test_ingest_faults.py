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
from lakehouse.silver import build_silver
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.paths import quarantine_uri

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
