"""Pending rows: quarantined because a reference was not known yet, retried by every build.

A silver build reads the quarantine's retryable rows once (they are few: what waits, plus what
was released), feeds the bronze rows still waiting back through conform next to its own batch,
and afterwards records in the quarantine which of them reached silver and by which batch
(``released_by``, ``released_at``): a MERGE that only touches rows not released yet, so a
re-run or a later batch never releases a row twice. A released silver row keeps its original
lineage (file, line, batch) and carries the releasing batch in ``_released_by``.
"""

from __future__ import annotations

from datetime import datetime

import polars as pl
from deltalake import DeltaTable

from lakehouse.ingest.quarantine import KEY, SILVER_RETRYABLE, mark_released, update_reasons
from lakehouse.silver.delta_io import RELEASED as RELEASED_BY
from lakehouse.silver.delta_io import Tables, read_batches

_COLUMNS = {**{k: pl.String for k in KEY}, "_line": pl.Int64, "_batch_id": pl.String,
            "error_kind": pl.String, "released_by": pl.String}


def read_retryable(uri: str) -> pl.DataFrame:
    """Every quarantine row of a kind silver retries, waiting or released: key, batch, kind and
    ``released_by`` (null on tables written before it existed)."""
    if not DeltaTable.is_deltatable(uri):
        return pl.DataFrame(schema=_COLUMNS)
    dt = DeltaTable(uri)
    files = [u.removeprefix("file://") for u in dt.file_uris()]
    if not files:
        return pl.DataFrame(schema=_COLUMNS)
    present = {f.name for f in dt.schema().fields}
    scan = pl.scan_parquet(files, hive_partitioning=False, missing_columns="insert",
                           extra_columns="ignore",
                           schema={n: t for n, t in _COLUMNS.items() if n in present})
    frame = scan.filter(pl.col("error_kind").is_in(sorted(SILVER_RETRYABLE))).collect()
    if "released_by" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, pl.String).alias("released_by"))
    return frame.select(list(_COLUMNS))


class Pending:
    """The retryable quarantine rows one build works with, and what it released."""

    def __init__(self, uri: str, release_id: str) -> None:
        self.uri, self.release_id = uri, release_id
        self.rows = read_retryable(uri)
        self.released: list[pl.DataFrame] = []  # KEY frames released by this build
        self.changed: list[pl.DataFrame] = []  # rows still waiting, now for another reference

    def waiting(self, channel: str, entity: str) -> pl.DataFrame:
        """Rows of one bronze entity still waiting (no release recorded)."""
        return self.rows.filter((pl.col("_source_channel") == channel)
                                & (pl.col("_entity") == entity)
                                & pl.col("released_by").is_null())

    def retry(self, tables: Tables, bronze_uri: str, channel: str, entity: str,
              bronze: pl.DataFrame | None) -> pl.DataFrame | None:
        """``bronze`` (the batch's rows) plus the bronze rows of this entity still waiting, read
        from their own batches (a row of the batch itself is not read twice)."""
        waiting = self.waiting(channel, entity)
        if waiting.is_empty():
            return bronze
        old = read_batches(tables, bronze_uri, waiting["_batch_id"].unique().sort().to_list())
        if old is None or old.is_empty():
            return bronze
        # a bronze row is (file, line, batch): a file re-delivered under its name is new rows
        row = ["_source_file", "_line", "_batch_id"]
        old = old.join(waiting.select(row), on=row, how="semi")
        if bronze is not None and not bronze.is_empty():
            old = old.join(bronze.select(row), on=row, how="anti")
            # one chunk: a struct over multi-chunk columns of mixed origin panics polars 2.1
            return pl.concat([bronze, old], how="diagonal_relaxed").rechunk()
        return old

    def stamp(self, good: pl.DataFrame, channel: str, entity: str) -> pl.DataFrame:
        """``good`` with ``_released_by``: the release already recorded for a row, this build's
        id for a row that was waiting (recorded as released by this build), else null."""
        mine = self.rows.filter((pl.col("_source_channel") == channel)
                                & (pl.col("_entity") == entity))
        if mine.is_empty() or good.is_empty():
            return good.with_columns(pl.lit(None, pl.String).alias(RELEASED_BY))
        on = ["_source_file", "_line", "_batch_id"]
        by = mine.select(*on, pl.col("released_by").fill_null(self.release_id)
                         .alias(RELEASED_BY)).unique(subset=on, keep="first")
        out = good.drop(RELEASED_BY, strict=False).join(by, on=on, how="left",
                                                        maintain_order="left")
        now = mine.filter(pl.col("released_by").is_null()).select(*KEY, "_batch_id").join(
            good.select(*on).unique(), on=on, how="semi")
        if now.height:
            self.released.append(now)
        return out

    def still_waiting(self, bad: pl.DataFrame) -> pl.Series:
        """Mask of quarantine rows ``bad`` that already wait in the quarantine (retried and
        still unresolved): not quarantined again. Only rows still waiting count, of the same
        delivery (batch): a released row, or the same line of a file delivered again, that
        is held back now is new."""
        if self.rows.is_empty() or bad.is_empty():
            return pl.Series([False] * bad.height, dtype=pl.Boolean)
        key = [*KEY, "_batch_id"]
        keys = self.rows.filter(pl.col("released_by").is_null()).select(
            *key, pl.col("error_kind").alias("_kind")).unique(subset=key).with_columns(
            pl.lit(True).alias("_held"))
        held = bad.join(keys, on=key, how="left", maintain_order="left")
        changed = held.filter(pl.col("_held").fill_null(False)
                              & (pl.col("_kind") != pl.col("error_kind")))
        if changed.height:
            self.changed.append(changed.drop("_held", "_kind"))
        return held["_held"].fill_null(False)

    def record(self, at: datetime) -> int:
        """Mark this build's releases in the quarantine (rows not released yet only), and
        give rows that now wait for another reference their current reason."""
        if self.changed:
            update_reasons(self.uri, pl.concat(self.changed, how="diagonal_relaxed"))
        if not self.released:
            return 0
        return mark_released(self.uri, pl.concat(self.released), self.release_id, at)
