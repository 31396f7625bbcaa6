"""Rotate the pseudonymisation key without losing who is who.

Everything downstream of silver carries HMACs keyed by the home's key, and identity keeps
person ids stable from run to run by matching this run's records to the last map through
those hashes (``store.previous_assignments``). A new key alone would therefore re-number
every person. Rotation re-keys what carries state from one run to the next, then swaps the
key; everything else is derived and is rebuilt under the new key by the next nightly run:

1. the new key is staged in ``secrets/hmac.key.next`` (owner-only), or taken from the
   environment variable the operator names (production keys live in a secret store);
2. the identity map is rewritten under the new key, from the validated silver records and the
   map's own assignments (same persons, households and match evidence), and the erasure
   suppression list is re-keyed for every record silver still holds;
3. the key is swapped in (``os.replace``) and the warehouse build file is removed, so the next
   ``dbt build`` is a full one (incremental marts would otherwise keep rows hashed with the
   old key).

A crash anywhere is repaired by running the rotation again: a staged key is reused, and the
map is matched under both keys. What rotation cannot re-key: suppression entries of records
that are gone from silver (erased everywhere) keep their old hash, which nothing can match any
more; a re-delivery of such a record would not be suppressed, so erase it again. Training sets
and exports made before the rotation keep the old hashes, which is the point: they no longer
link to anything.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.identity.pii import KEY_ENV, key_path, load_key, pseudonymise_expr, write_key
from lakehouse.identity.profiles import identity_map
from lakehouse.identity.store import ERASURES
from lakehouse.storage.delta import read_table
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import read_validated

MAP = "identity_map"
RECORD_KEYS = ["source", "record_id"]


@dataclass
class Rotation:
    records_rekeyed: int  # identity records whose assignments carried over
    records_dropped: int  # map records silver no longer holds (they leave the map)
    erasures_rekeyed: int
    erasures_stale: int  # suppression entries of records gone from silver
    key_file: Path | None  # None when the key lives in the environment


def staged_key_path(home: Home) -> Path:
    return key_path(home.root).with_name("hmac.key.next")


def rotate(home: Home, new_key_env: str | None = None) -> Rotation:
    """Re-key the identity state of ``home`` and swap the key (see the module docstring).

    With the key in ``LAKEHOUSE_HMAC_KEY``, ``new_key_env`` names the variable holding the new
    one; the operator then moves it into ``LAKEHOUSE_HMAC_KEY`` in the secret store."""
    from_env = bool(os.environ.get(KEY_ENV))
    if from_env and not new_key_env:
        raise ValueError(f"the key comes from {KEY_ENV}: pass the name of the variable that "
                         "holds the new key (--new-key-env)")
    old = load_key(home.root)
    if new_key_env:
        if not os.environ.get(new_key_env):
            raise ValueError(f"{new_key_env} is not set: it must hold the new key")
        new = os.environ[new_key_env].encode()
    else:
        staged = staged_key_path(home)
        if not staged.exists():  # a crashed rotation staged one already: reuse it
            write_key(staged, secrets.token_hex(32), replace=False)
        new = staged.read_text().strip().encode()
    if new == old:
        raise ValueError("the new key equals the current one")
    records = _records(home)
    kept, dropped = _rekey_map(home, records, old, new)
    erasures_rekeyed, stale = _rekey_erasures(home, records, old, new)
    key_file = None
    if not new_key_env:
        key_file = key_path(home.root)
        os.replace(staged_key_path(home), key_file)
    home.root.joinpath("warehouse.build.duckdb").unlink(missing_ok=True)
    return Rotation(kept, dropped, erasures_rekeyed, stale, key_file)


def _records(home: Home) -> pl.DataFrame:
    uri = table_uri(home, "silver", "customer_records")
    records = read_validated(uri)
    if records is None:
        raise FileNotFoundError(f"{uri} has no validated version: nothing to re-key against")
    return records


def _hashes(records: pl.DataFrame, old: bytes, new: bytes) -> pl.DataFrame:
    """``source, record_id, old_hash, new_hash`` of every silver record."""
    return records.select(*RECORD_KEYS,
                          pseudonymise_expr("record_id", old).alias("old_hash"),
                          pseudonymise_expr("record_id", new).alias("new_hash"))


def _matched(table: pl.DataFrame, hashes: pl.DataFrame) -> pl.DataFrame:
    """Rows of ``table`` (``source, identifier_hash, ...``) with the ``record_id`` and
    ``new_hash`` of their silver record, matched under the old key or, after a crashed
    rotation, already under the new one."""
    parts = [table.join(hashes.select(*RECORD_KEYS, "new_hash",
                                      pl.col(col).alias("identifier_hash")),
                        on=["source", "identifier_hash"]) for col in ("old_hash", "new_hash")]
    return pl.concat(parts).unique(subset=RECORD_KEYS, keep="first", maintain_order=True)


def _rekey_map(home: Home, records: pl.DataFrame, old: bytes, new: bytes) -> tuple[int, int]:
    uri = table_uri(home, "gold", MAP)
    if not DeltaTable.is_deltatable(uri):
        return 0, 0
    held = read_table(uri).filter(pl.col("identifier_type") == "record")
    assigned = _matched(held, _hashes(records, old, new)).select(
        *RECORD_KEYS, "person_id", "household_id", "match_probability", "matched_by")
    keep = records.join(assigned.select(RECORD_KEYS), on=RECORD_KEYS)
    replace_table(uri, identity_map(assigned, keep, new))
    return assigned.height, held.height - assigned.height


def _rekey_erasures(home: Home, records: pl.DataFrame, old: bytes,
                    new: bytes) -> tuple[int, int]:
    uri = table_uri(home, "gold", ERASURES)
    if not DeltaTable.is_deltatable(uri):
        return 0, 0
    held = read_table(uri)
    hashes = _hashes(records, old, new)
    matched = _matched(held, hashes)
    rekeyed = matched.with_columns(pl.col("new_hash").alias("identifier_hash")).select(
        held.columns)
    stale = held.join(matched.select("source", "identifier_hash"),
                      on=["source", "identifier_hash"], how="anti")
    # stale rows under the old key could only match a record silver no longer has
    replace_table(uri, pl.concat([rekeyed, stale], how="vertical_relaxed"))
    return rekeyed.height, stale.height
