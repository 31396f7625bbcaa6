"""The lake on an S3-compatible object store (moto's server, a real HTTP process on loopback).

The same landing zone is ingested and built through the gated steps twice, once into a local
lake and once into ``s3://lake/<prefix>`` (``LAKEHOUSE_LAKE_URI``); every table must hold the
same rows, and the gates must have pinned the same versions.
"""

from __future__ import annotations

import re
import shutil
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import polars as pl
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest import LandingFile, batch_id_for, discover, ingest_files
from lakehouse.simulate import SimConfig, simulate
from lakehouse.storage.objects import LAKE_URI_ENV, ObjectPath
from lakehouse.storage.validations import outcomes
from tests.gated import build_inventory, build_silver, resolve_home
from tests.object_store import create_bucket, environment, moto_server, s3_environment

SIM = SimConfig(persons=60, products=10, stores=1, warehouses=1, days=4, seed=7,
                duplicate_rate=0.05, malformed_rate=0.05)
NOW = datetime(2026, 3, 1, tzinfo=UTC)
BUCKET = "lake"
LAYERS = ("bronze", "silver", "quarantine", "gold", "quality")
KEY = b"object-store-test-key-0123456789"


@pytest.fixture(scope="module")
def s3() -> Iterator[str]:
    """moto's S3 server with bucket ``lake``; the AWS variables point at it for the module."""
    with moto_server() as endpoint:
        create_bucket(endpoint, BUCKET)
        with environment(s3_environment(endpoint)):
            yield endpoint


@contextmanager
def on_s3(prefix: str) -> Iterator[None]:
    """Homes resolved in this block keep their lake at ``s3://lake/<prefix>``."""
    with environment({LAKE_URI_ENV: f"s3://{BUCKET}/{prefix}"}):
        yield


def _day(f: LandingFile) -> str:
    return re.search(r"_(\d{8})_", f.relpath).group(1)  # type: ignore[union-attr]


def _load(src: Home, root) -> tuple[Home, list[str]]:
    """Copy the landing zone (mtimes kept: knowledge time), ingest and build silver gated,
    first the reference day, then the rest as a second batch."""
    home = Home.resolve(root).ensure()
    shutil.copytree(src.landing, home.landing, dirs_exist_ok=True)
    by_day: dict[str, list[LandingFile]] = defaultdict(list)
    for f in discover(home):
        by_day[_day(f)].append(f)
    days = sorted(by_day)
    ids = []
    for files in ([f for d in days[:1] for f in by_day[d]],
                  [f for d in days[1:] for f in by_day[d]]):
        bid = batch_id_for(files)
        ingest_files(home, files, bid, now=NOW)
        build_silver(home, bid)
        ids.append(bid)
    resolve_home(home, KEY, NOW)  # one pseudonymisation key: the same hashes on both lakes
    build_inventory(home)
    return home, ids


@pytest.fixture(scope="module")
def lakes(tmp_path_factory: pytest.TempPathFactory, s3: str) -> dict:
    src = Home.resolve(tmp_path_factory.mktemp("src"))
    simulate(src, SIM)
    local = _load(src, tmp_path_factory.mktemp("local"))
    with on_s3("bronze_silver"):
        remote = _load(src, tmp_path_factory.mktemp("remote"))
    return {"local": local, "remote": remote}


def _tables(home: Home) -> dict[str, pl.DataFrame]:
    out = {}
    for layer in sorted(p.name for p in home.lake.iterdir()):
        for path in sorted((home.lake / layer).iterdir()):
            if DeltaTable.is_deltatable(str(path)):
                df = pl.from_arrow(DeltaTable(str(path)).to_pyarrow_table())
                assert isinstance(df, pl.DataFrame)
                out[f"{layer}/{path.name}"] = df.select(sorted(df.columns)).sort(
                    sorted(df.columns), nulls_last=True)
    return out


def test_object_store_lake_equals_local_lake(lakes):
    local, local_ids = lakes["local"]
    remote, remote_ids = lakes["remote"]
    assert local_ids == remote_ids
    expected = _tables(local)
    with on_s3("bronze_silver"):
        assert isinstance(remote.lake, ObjectPath)
        assert str(remote.lake) == f"s3://{BUCKET}/bronze_silver"
        got = _tables(remote)
        pins = outcomes(remote.lake)
    assert {t.split("/")[0] for t in expected} == set(LAYERS)
    assert sorted(got) == sorted(expected)
    # what each step built has rows on both (the registry is compared below, without times)
    for name in ("bronze/web__events", "silver/clickstream_events", "silver/pos_transaction_lines",
                 "silver/customer_records", "silver/inventory_ledger", "gold/identity_map",
                 "gold/inventory_positions"):
        assert expected[name].height > 0, name
    for name, frame in expected.items():
        if name.startswith("quality/"):
            continue
        assert got[name].equals(frame), f"{name} differs between the local and the S3 lake"
    # the lake really is in the bucket: no local lake directory was written
    assert not (remote.root / "lake").exists()
    # every gate ran on S3 and pinned the same versions as on the local lake
    local_pins = outcomes(local.lake)
    key = ["table", "version", "suite", "passed", "from_version", "rows_validated"]
    assert local_pins.height > 0 and local_pins["passed"].all()
    assert pins.select(key).sort(key).equals(local_pins.select(key).sort(key))


@pytest.mark.parametrize("table", ["silver/clickstream_events", "bronze/web__events"])
def test_great_expectations_gate_reads_the_object_store(lakes, table):
    """GX validates over its own DuckDB connection: it reads the S3 files too, with the same
    outcomes (and element counts) as over the local files."""
    from data_quality.gate import validate_table
    from data_quality.lake import suite_for

    suite = suite_for(table)
    assert suite is not None
    local = validate_table(str(lakes["local"][0].lake / table), suite, engine="gx", now=NOW)
    with on_s3("bronze_silver"):
        remote = validate_table(str(lakes["remote"][0].lake / table), suite, engine="gx",
                                now=NOW)
    assert remote.table.startswith(f"s3://{BUCKET}/")
    assert remote.engine == "gx" and remote.rows == local.rows > 0
    assert remote.passed and local.passed
    assert ([(o.name, o.passed, o.element_count, o.unexpected_count) for o in remote.outcomes]
            == [(o.name, o.passed, o.element_count, o.unexpected_count) for o in local.outcomes])


def test_erasure_refuses_an_object_store_lake(tmp_path, monkeypatch):
    """Not built for object stores yet: refused before any table is touched."""
    from lakehouse.privacy.erase import ErasureRefused, erase

    monkeypatch.setenv(LAKE_URI_ENV, f"s3://{BUCKET}/nowhere")
    with pytest.raises(ErasureRefused, match="object-store lake"):
        erase(Home.resolve(tmp_path), [])
