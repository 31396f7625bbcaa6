"""Right to be forgotten, end to end: a canary person planted in the landing files of three
channels (loyalty CSV, e-mail JSON lines, POS CSV, plus a malformed line that is quarantined),
the whole pipeline run through Dagster, then ``lakehouse erase --email``: no byte under the
home (files, decoded Parquet, DuckDB tables, SQLite rows) holds the canary's values or their
keyed hashes, a re-ingest skips the rewritten files, and identity does not bring them back."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.identity.pii import load_key, pseudonymise
from lakehouse.simulate import SimConfig, simulate

EMAIL = "zqcanary.7731@erasetest.example"
PHONE = "+1 303 555 7731"
PHONE_E164 = "+13035557731"
FIRST, LAST = "Zebulonx", "Quixwortz"
CANARY = [EMAIL, PHONE, PHONE_E164, "3035557731", FIRST, LAST]
SIM = SimConfig(persons=40, products=8, stores=1, warehouses=1, days=2)


def _keep_mtime(path: Path, content: str) -> None:
    stat = path.stat()
    path.write_text(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def plant(home: Home) -> None:
    """The canary: one loyalty member's identifiers replaced, an e-mail event to them, a POS
    sale with their card, and a broken e-mail line (quarantined with its raw payload)."""
    members = sorted(home.channel_dir("loyalty").glob("members_*.csv"))[-1]
    lines = members.read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    for name, value in (("first_name", FIRST), ("last_name", LAST), ("email", EMAIL),
                        ("phone", PHONE)):
        row[header.index(name)] = value
    card = row[header.index("card_number")]
    lines[1] = ",".join(row)
    _keep_mtime(members, "\n".join(lines) + "\n")
    email_file = sorted(home.channel_dir("email").glob("events_*.jsonl"))[-1]
    first = json.loads(email_file.read_text().splitlines()[0])
    event = {**first, "sg_event_id": "canary-evt-0001", "event": "delivered", "email": EMAIL}
    broken = {**event, "sg_event_id": "canary-evt-0002", "timestamp": "not a time"}
    _keep_mtime(email_file, email_file.read_text() + json.dumps(event) + "\n"
                + json.dumps(broken) + "\n")
    pos = sorted(home.channel_dir("pos").glob("transactions_*.csv"))[-1]
    pos_lines = pos.read_text().splitlines()
    cols = pos_lines[0].split(",")
    sale = pos_lines[1].split(",")
    sale[cols.index("transaction_id")] = "ST001-09-999999"
    sale[cols.index("loyalty_card")] = card
    _keep_mtime(pos, "\n".join([*pos_lines, ",".join(sale)]) + "\n")


def lakehouse(*args: str, home: Home) -> subprocess.CompletedProcess:
    """The CLI in its own process, on the home's Dagster instance (no timeout: the run of
    the whole pipeline is what this module pays for, and a loaded machine stretches it)."""
    return subprocess.run([sys.executable, "-m", "lakehouse.cli", *args, "--home",
                           str(home.root)], env=home.environment(), capture_output=True,
                          text=True)


def needles(home: Home, persons: list[str] = ()) -> list[str]:
    """The canary values, the keyed hashes gold and the warehouse would hold of them, and the
    canary's person ids (pseudonyms, but the key of the ML marts)."""
    key = load_key(home.root)
    return [v.lower() for v in CANARY] + [pseudonymise(EMAIL, key),
                                          pseudonymise(PHONE_E164, key)] + [
        p.lower() for p in persons]


def canary_persons(home: Home) -> list[str]:
    from lakehouse.privacy.resolve import Request, resolve_persons

    return resolve_persons(home, [Request("email", EMAIL)], load_key(home.root))


def _decoded(path: Path) -> str | None:
    """A file's values as text, for formats that compress or encode them."""
    head = path.read_bytes()[:16]
    if path.suffix == ".parquet":
        return str(pq.read_table(path).to_pylist())
    if head.startswith(b"SQLite format 3"):
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return "\n".join(con.iterdump())
        finally:
            con.close()
    if path.suffix == ".duckdb":
        con = duckdb.connect(str(path), read_only=True)
        try:
            out = []
            for schema, table in con.execute(
                    "select table_schema, table_name from information_schema.tables "
                    "where table_type = 'BASE TABLE'").fetchall():
                out.append(str(con.execute(f'select * from "{schema}"."{table}"').fetchall()))
            return "\n".join(out)
        finally:
            con.close()
    return None


def hits(home: Home, values: list[str]) -> dict[str, list[str]]:
    """Every file under the home whose bytes, or decoded values, hold one of ``values``."""
    found: dict[str, list[str]] = {}
    for path in sorted(p for p in home.root.rglob("*") if p.is_file()):
        texts = [path.read_bytes().decode("latin-1").lower()]
        decoded = _decoded(path)
        if decoded is not None:
            texts.append(decoded.lower())
        which = sorted({v for v in values for t in texts if v in t})
        if which:
            found[str(path.relative_to(home.root))] = which
    return found


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Home:
    home = Home.resolve(tmp_path_factory.mktemp("erase") / "home").ensure()
    simulate(home, SIM)
    plant(home)
    run = lakehouse("run", home=home)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return home


def _copy(home: Home, to: Path) -> Home:
    shutil.copytree(home.root, to, symlinks=True, copy_function=shutil.copy2)
    return Home.resolve(to)


@dataclass
class Erased:
    home: Home
    needles: list[str]
    before: dict[str, list[str]]
    after_dry_run: dict[str, list[str]]
    dry: subprocess.CompletedProcess
    out: subprocess.CompletedProcess
    training: object  # the customer training set built before the erasure


@pytest.fixture(scope="module")
def erased(built: Home, tmp_path_factory) -> Erased:
    """One erasure (by e-mail, in another case than planted) of a copy of the built home."""
    from lakehouse.ml.training import training_set

    home = _copy(built, tmp_path_factory.mktemp("erased") / "home")
    values = needles(home, canary_persons(home))
    before = hits(home, values)
    training = training_set("customer", home=home)
    dry = lakehouse("erase", "--email", EMAIL.upper(), "--dry-run", home=home)
    after_dry_run = hits(home, values)
    out = lakehouse("erase", "--email", EMAIL.upper(), home=home)
    return Erased(home, values, before, after_dry_run, dry, out, training)


def test_the_canary_is_everywhere_before_and_nowhere_after_erasure(erased: Erased):
    before = erased.before
    # the plant reached every layer: landing, bronze, silver, quarantine, gold, ML, warehouse
    for where in ("landing/loyalty", "landing/email", "lake/bronze/email__events",
                  "lake/bronze/loyalty__members", "lake/silver/", "lake/quarantine/",
                  "lake/gold/identity_map", "lake/gold/ml_customer_features", "warehouse"):
        assert any(k.startswith(where) for k in before), where
    # no run record or report copied a raw value (metadata previews, GX results, logs)
    raw = {v.lower() for v in CANARY}
    assert not {k: v for k, v in before.items()
                if k.startswith(("dagster/", "docs/")) and raw & set(v)}
    assert erased.dry.returncode == 0, erased.dry.stderr
    assert "dry run" in erased.dry.stdout and erased.after_dry_run == before  # nothing changed
    assert erased.out.returncode == 0, erased.out.stdout + erased.out.stderr
    assert "audit id" in erased.out.stdout and "time travel" in erased.out.stdout
    assert hits(erased.home, erased.needles) == {}
    # the audit names the erasure, never the values
    log = (erased.home.root / "privacy" / "erasures.jsonl").read_text()
    assert json.loads(log.splitlines()[-1])["rows"]["quarantine/rows"] == 1
    assert not any(v in log.lower() for v in erased.needles)


def test_after_erasure_a_rerun_does_not_bring_the_person_back(erased: Erased):
    from lakehouse.identity.store import resolve_home
    from lakehouse.ingest import batch_id_for, discover
    from lakehouse.ingest.bronze import ingest_files
    from lakehouse.storage.validations import read_validated

    home = erased.home
    files = discover(home)
    result = ingest_files(home, files, batch_id_for(files))
    assert result.files_skipped == len(files)  # the rewritten files are handled already
    assert result.rows_bronze == 0
    resolve_home(home)  # identity from silver's validated pins: the pins survived the erasure
    for table in ("silver/loyalty_members", "silver/customer_records", "gold/identity_map"):
        assert read_validated(home.lake / table) is not None
    assert hits(home, erased.needles) == {}


def test_a_training_set_pinned_before_the_erasure_cannot_be_rebuilt(erased: Erased):
    from lakehouse.ml.training import training_set
    from lakehouse.privacy.audit import ErasedVersionError

    with pytest.raises(ErasedVersionError, match="predate a right-to-be-forgotten erasure"):
        erased.training.rebuild()
    after = training_set("customer", home=erased.home)  # a new set reads the moved pins
    assert after.frame.height == erased.training.frame.height - 1


def test_erasure_refuses_a_table_with_unvalidated_commits(built: Home, tmp_path: Path):
    from deltalake import write_deltalake

    from lakehouse.privacy.erase import ErasureRefused, Request, erase

    home = _copy(built, tmp_path / "home")
    uri = str(home.lake / "silver" / "loyalty_members")
    empty = pl.from_arrow(DeltaTable(uri).to_pyarrow_table()).head(0)
    write_deltalake(uri, empty.to_arrow(), mode="append")  # a commit no gate has seen
    with pytest.raises(ErasureRefused, match="silver/loyalty_members"):
        erase(home, [Request("email", EMAIL)])
    assert hits(home, [EMAIL])  # nothing was changed


def test_the_pseudonymisation_key_is_in_no_file_but_its_own(built: Home):
    """Never logged: after a whole run (Dagster storage, dbt logs, Data Docs, the warehouse),
    the key's bytes are only in its owner-only key file."""
    from lakehouse.identity.pii import key_path

    key = key_path(built.root).read_text().strip()
    found = hits(built, [key.lower()])
    assert found == {"secrets/hmac.key": [key.lower()]}
