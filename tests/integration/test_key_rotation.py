"""The pseudonymisation key: created owner-only, refused when others can read it, and rotated
without re-numbering persons (real Delta tables, real identity resolution)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from deltalake import write_deltalake

from lakehouse.home import Home
from lakehouse.identity.pii import (
    KEY_ENV,
    ExposedKeyError,
    key_path,
    load_key,
    pseudonymise,
)
from lakehouse.identity.rotate import rotate, staged_key_path
from lakehouse.identity.store import ERASURES, erase
from lakehouse.storage.delta import read_table
from lakehouse.storage.paths import table_uri
from tests.gated import resolve_home

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def _records() -> pl.DataFrame:
    rows = [
        {"record_id": "a1", "source": "shop_customer", "first_name": "Ann", "last_name": "Lee",
         "email": "ann@x.com", "login_id": "a1"},
        {"record_id": "t1", "source": "pos", "email": "ann@x.com"},
        {"record_id": "b1", "source": "shop_customer", "first_name": "Bo", "last_name": "Kim",
         "email": "bo@x.com", "login_id": "b1"},
        {"record_id": "c1", "source": "shop_customer", "first_name": "Cy", "last_name": "Ho",
         "email": "cy@x.com", "login_id": "c1"},
    ]
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.lit(T0).alias("first_seen"), pl.lit(T0).alias("last_seen"))


def _assignments(home: Home, key: bytes) -> dict[str, str]:
    imap = read_table(table_uri(home, "gold", "identity_map")).filter(
        pl.col("identifier_type") == "record")
    by_hash = dict(zip(imap["identifier_hash"], imap["person_id"], strict=True))
    return {r: by_hash[pseudonymise(r, key)] for r in ("a1", "t1", "b1")
            if pseudonymise(r, key) in by_hash}


@pytest.fixture()
def home(tmp_path, monkeypatch) -> Home:
    monkeypatch.delenv(KEY_ENV, raising=False)
    home = Home.resolve(tmp_path / "h")
    write_deltalake(table_uri(home, "silver", "customer_records"), _records().to_arrow())
    resolve_home(home, at=T0)
    return home


def test_the_dev_key_is_owner_only_and_a_readable_one_is_refused(home) -> None:
    path = key_path(home.root)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(path.read_text()) == 64
    path.chmod(0o644)
    with pytest.raises(ExposedKeyError, match="chmod 600"):
        load_key(home.root, env={})


def test_rotation_keeps_persons_and_rehashes_everything_it_holds(home) -> None:
    old = load_key(home.root)
    before = _assignments(home, old)
    assert before["a1"] == before["t1"] != before["b1"]
    erase(home, [before["b1"]], at=T0)  # a suppression entry that must survive rotation
    (home.root / "warehouse.build.duckdb").write_bytes(b"stale")

    report = rotate(home)

    new = load_key(home.root)
    assert new != old and not staged_key_path(home).exists()
    assert stat.S_IMODE(key_path(home.root).stat().st_mode) == 0o600
    assert report.records_rekeyed == 3 and report.records_dropped == 0
    assert report.erasures_rekeyed == 1 and report.erasures_stale == 0
    assert _assignments(home, new) == {r: before[r] for r in ("a1", "t1")}
    old_hashes = {pseudonymise(r, old) for r in ("a1", "t1", "b1", "c1")}
    held = set(read_table(table_uri(home, "gold", "identity_map"))["identifier_hash"])
    assert not held & old_hashes
    assert pseudonymise("ann@x.com", new) in held and pseudonymise("ann@x.com", old) not in held
    assert set(read_table(table_uri(home, "gold", ERASURES))["identifier_hash"]) == {
        pseudonymise("b1", new)}
    assert not (home.root / "warehouse.build.duckdb").exists()  # next dbt build is full

    run = resolve_home(home, at=T0 + timedelta(days=1))  # the next nightly, under the new key
    assert run.records == 3  # Bo stays suppressed
    after = _assignments(home, new)
    assert after["a1"] == after["t1"] == before["a1"]


def test_a_rotation_that_crashed_after_rekeying_the_map_is_finished_by_a_rerun(home) -> None:
    old = load_key(home.root)
    before = _assignments(home, old)
    env = {**os.environ, "PYTHONPATH": str(ROOT),
           "LAKEHOUSE_FAULT": "kill:replace.after:identity_map"}
    env.pop(KEY_ENV, None)
    script = ("import sys; from lakehouse.home import Home; "
              "from lakehouse.identity.rotate import rotate; rotate(Home.resolve(sys.argv[1]))")
    code = subprocess.run([sys.executable, "-c", script, str(home.root)], env=env, cwd=ROOT,
                          timeout=120).returncode
    assert code == -9  # killed after re-keying the map, the staged key not yet swapped in
    assert load_key(home.root) == old and staged_key_path(home).exists()
    rotate(home)
    new = load_key(home.root)
    assert _assignments(home, new) == {r: before[r] for r in ("a1", "t1", "b1")}


def test_rotation_with_an_environment_key_needs_the_new_one_named(home, monkeypatch) -> None:
    monkeypatch.setenv(KEY_ENV, "old-secret")
    with pytest.raises(ValueError, match="--new-key-env"):
        rotate(home)
    monkeypatch.setenv("NEXT_KEY", "old-secret")
    with pytest.raises(ValueError, match="equals"):
        rotate(home, new_key_env="NEXT_KEY")
