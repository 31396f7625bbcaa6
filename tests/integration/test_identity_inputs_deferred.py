"""Micro-batches leave the identity inputs to the next batch run, which folds every batch they
missed: the result equals folding them batch by batch (lakehouse/silver/identity_tables.py)."""

import polars as pl

from lakehouse.home import Home
from lakehouse.ingest import discover, ingest_files
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.delta import read_table
from tests.gated import build_silver

IDENTITY_TABLES = ("identifier_observations", "customer_records")


def _batches(home: Home) -> list[tuple[str, list]]:
    files = sorted(discover(home.root), key=lambda f: str(f))
    thirds = [files[i::3] for i in range(3)]
    return [(f"b-test-{i}", part) for i, part in enumerate(thirds)]


def _identity_tables(home: Home) -> dict[str, pl.DataFrame]:
    out = {}
    for name in IDENTITY_TABLES:
        frame = read_table(str(home.lake / "silver" / name))
        frame = frame.drop([c for c in frame.columns if c == "_ingested_at"])
        out[name] = frame.sort(frame.columns, nulls_last=True)
    return out


def test_a_batch_run_catches_up_what_micro_batches_skipped(tmp_path):
    config = SimConfig(persons=120, products=15, stores=1, warehouses=1, days=4, seed=3)
    each, deferred = Home.resolve(tmp_path / "each"), Home.resolve(tmp_path / "deferred")
    for home in (each, deferred):
        simulate(home, config)
    for i, ((bid, _), (_, files)) in enumerate(zip(_batches(each), _batches(deferred),
                                                   strict=True)):
        ingest_files(each.root, _batches(each)[i][1], bid)
        build_silver(each, bid)
        ingest_files(deferred.root, files, bid)
        last = i == 2
        result = build_silver(deferred, bid, identity=last)
        if not last:  # a micro-batch: identity inputs untouched
            assert "identifier_observations" not in result.tables
    _assert_equal(_identity_tables(deferred), _identity_tables(each))
    # a re-run of the last batch changes nothing
    before = _identity_tables(deferred)
    build_silver(deferred, "b-test-2", identity=True)
    _assert_equal(_identity_tables(deferred), before)


def _assert_equal(got: dict[str, pl.DataFrame], want: dict[str, pl.DataFrame]) -> None:
    for name in IDENTITY_TABLES:
        assert got[name].height > 0, name
        assert got[name].equals(want[name]), name
