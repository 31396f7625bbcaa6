"""Content fingerprints of a home: every Delta table, every validated pin and the warehouse.

Why: a crash campaign (``bench/chaos.py``) proves exactly-once (DESIGN rule 2) by comparing a
killed-then-retried run with an uninterrupted one. Versions, file layouts and commit counts
legitimately differ after a retry (an extra empty commit, a compaction); the rows must not.
A digest is order independent (a sum of per-row hashes) but counts duplicates, so a row written
twice or lost changes it.

Columns left out (:data:`VOLATILE`) are the ones that record *when* or *which run* wrote a row,
never what the data says; two clean runs of the same home differ in them and nothing else:

- ``_ingested_at`` (bronze lineage, and carried into silver and quarantine): the wall clock of
  the ingesting run;
- ``_lake_file`` (warehouse models built from the lake files they have not read): the Parquet
  file a row was read from, whose name delta-rs draws at random when it writes it;
- ``arrived_at`` (``silver/inventory_ledger``): the ledger's copy of ``_ingested_at`` (alert
  watermarks use it, the fold never does);
- ``released_at`` (quarantine): the wall clock of the run that released a pending row;
- ``at`` (``gold/person_id_history``): the wall clock of the identity run that recorded it;
- ``as_of`` (ML feature marts, and the customer segments cut at the marts' ``as_of``): the
  wall-clock time the marts were built for, and the features that are ``as_of`` minus an event
  time (``recency_days``, ``tenure_days``, ``days_since_last_visit``,
  ``days_since_last_sale``): the event times they count from are compared in silver;
- the warehouse's lineage tables (``lakehouse_meta``): ``invocation_id`` (dbt's run id),
  ``loaded_at``/``built_at`` (wall clock), ``committed_at``/``inputs_committed_at`` (the wall
  clock of the Delta commits read), ``uri`` (the home's absolute path: the campaign compares
  copies in different directories) and ``version`` (the pinned Delta version read: a retried
  run may pin a later version holding the same rows, compared through the pins instead).

The validation registry (``quality/validations``) is not compared row by row: its version
numbers, run ids and clocks differ after a retry by design. Its meaning is compared instead:
for every table, the *content* of its validated pin (a retried run may pin a later version
that holds the same rows).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.storage.duck import base_tables
from lakehouse.storage.objects import lake_root
from lakehouse.storage.validations import REGISTRY, validated_versions

VOLATILE = {
    "*": ("_ingested_at", "_lake_file"),
    "quarantine/rows": ("released_at",),
    "silver/inventory_ledger": ("arrived_at",),
    "gold/person_id_history": ("at",),
    "gold/ml_customer_features": ("as_of", "recency_days", "tenure_days",
                                  "days_since_last_visit"),
    "gold/ml_product_features": ("as_of", "days_since_last_sale"),
    # segments are cut at the feature mart's as_of: recency counts up to it
    "gold/customer_segments": ("as_of", "recency_days"),
    "gold/customer_segment_profiles": ("as_of", "recency_days"),
    "staging.stg_gold__customer_segments": ("segmented_as_of", "recency_days"),
    "main.dim_customer_segments": ("segmented_as_of", "recency_days"),
    # the warehouse's own lineage tables: where, when and by which dbt invocation it loaded
    "lakehouse_meta.warehouse_inputs": ("uri", "version", "committed_at", "loaded_at",
                                        "invocation_id"),
    "lakehouse_meta.mart_freshness": ("inputs_committed_at", "stalest_input_committed_at",
                                      "built_at", "invocation_id"),
    "lakehouse_meta.lake_file_models": ("built_at",),
}
_MASK = (1 << 64) - 1


def digest(frame: pl.DataFrame, exclude: tuple[str, ...] = ()) -> str:
    """``<rows>:<hex>``: an order-independent hash of the rows over the columns not excluded
    (sorted by name, so a column order change alone is not a difference)."""
    columns = sorted(c for c in frame.columns if c not in exclude)
    if frame.is_empty() or not columns:
        return f"{frame.height}:0:{len(columns)}"
    frame = frame.select(columns)
    hashes = frame.hash_rows(seed=7).to_frame("h")
    # a wrapping sum of u64 hashes, computed as two sums of 32-bit halves that cannot overflow
    low, high = hashes.select((pl.col("h") % (1 << 32)).sum().alias("low"),
                              (pl.col("h") // (1 << 32)).sum().alias("high")).row(0)
    total = (low + (high << 32)) & _MASK
    schema = hashlib.sha256(repr(list(frame.schema.items())).encode()).hexdigest()[:8]
    return f"{frame.height}:{total:016x}:{schema}"


def excluded(name: str) -> tuple[str, ...]:
    """The volatile columns of table ``layer/name`` (or warehouse ``schema.table``)."""
    return VOLATILE["*"] + VOLATILE.get(name, ())


def tables(lake: Path) -> list[str]:
    """``layer/name`` of every Delta table under the lake."""
    return sorted(f"{p.parent.name}/{p.name}" for p in lake.glob("*/*")
                  if DeltaTable.is_deltatable(str(p)))


def _read(uri: str, version: int | None = None) -> pl.DataFrame:
    table = DeltaTable(uri) if version is None else DeltaTable(uri, version=version)
    frame = pl.from_arrow(table.to_pyarrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def lake_fingerprint(lake: Path) -> dict[str, str]:
    """``layer/name -> digest`` of the current snapshot of every table but the registry."""
    return {name: digest(_read(str(lake / name)), excluded(name))
            for name in tables(lake) if name != REGISTRY}


def pins_fingerprint(lake: Path) -> dict[str, str]:
    """``layer/name -> digest`` of every table at its validated pin."""
    return {name: digest(_read(str(lake / name), version), excluded(name))
            for name, version in sorted(validated_versions(lake).items())}


def _relation(con, schema: str, table: str) -> pl.DataFrame:
    frame = pl.from_arrow(con.sql(f'select * from "{schema}"."{table}"').to_arrow_table())
    assert isinstance(frame, pl.DataFrame)
    return frame


def entry_frame(root: Path, entry: str) -> pl.DataFrame:
    """The rows behind one fingerprint entry of home ``root`` (``lake:``, ``pin:`` or
    ``warehouse:``), without its volatile columns: what to look at when a digest differs."""
    kind, name = entry.split(":", 1)
    if kind == "warehouse":
        import duckdb

        con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
        try:
            frame = _relation(con, *name.split(".", 1))
        finally:
            con.close()
    else:
        lake = lake_root(root / "lake")
        frame = _read(str(lake / name),
                      validated_versions(lake)[name] if kind == "pin" else None)
    return frame.drop([c for c in excluded(name) if c in frame.columns])


def warehouse_fingerprint(database: Path) -> dict[str, str]:
    """``schema.table -> digest`` of every table in a DuckDB file (empty if there is none)."""
    import duckdb

    if not database.exists():
        return {}
    con = duckdb.connect(str(database), read_only=True)
    try:
        out = {}
        for schema, table in base_tables(con):
            out[f"{schema}.{table}"] = digest(_relation(con, schema, table),
                                              excluded(f"{schema}.{table}"))
        return out
    finally:
        con.close()


def home_fingerprint(root: Path) -> dict[str, str]:
    """Everything a run leaves that a reader sees: ``lake:``, ``pin:`` and ``warehouse:``
    entries (the analysts' published ``warehouse.duckdb``)."""
    lake = lake_root(root / "lake")
    out = {f"lake:{k}": v for k, v in lake_fingerprint(lake).items()}
    out |= {f"pin:{k}": v for k, v in pins_fingerprint(lake).items()}
    out |= {f"warehouse:{k}": v
            for k, v in warehouse_fingerprint(root / "warehouse.duckdb").items()}
    return out


def differences(a: dict[str, str], b: dict[str, str]) -> list[str]:
    """Human lines for every entry that differs between two fingerprints."""
    return [f"{k}: {a.get(k, 'missing')} != {b.get(k, 'missing')}"
            for k in sorted(a.keys() | b.keys()) if a.get(k) != b.get(k)]
