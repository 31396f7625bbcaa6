"""Which selected quarantine rows can be judged again, which a replay or release already
appended to bronze before it could record them, and which cannot be replayed (and why)."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.channels import entity, entity_for_file
from lakehouse.home import Home
from lakehouse.ingest.release import RELEASED
from lakehouse.ingest.replay.listing import IDENTITY
from lakehouse.storage.paths import bronze_uri

# kinds whose raw text cannot be judged again: the file as a whole was refused, or the raw
# text is not what was delivered (undecodable bytes are kept escaped)
NOT_REPLAYABLE = {
    "unknown_file": "the file name matches no entity: rename and deliver it again",
    "unreadable_file": "the file as a whole could not be read: deliver it again",
    "encoding_error": "the bytes were not UTF-8 (the raw text kept is escaped): deliver the "
                      "file again",
}


def _scan_bronze(uri: str, files: list[str]) -> pl.DataFrame:
    """Lineage (file, line, batch, ingest time, releasing batch) of the bronze rows of these
    source files."""
    schema = {"_source_file": pl.String, "_line": pl.Int64, "_batch_id": pl.String,
              "_ingested_at": pl.Datetime("us", "UTC"), RELEASED: pl.String}
    if not files or not DeltaTable.is_deltatable(uri):
        return pl.DataFrame(schema=schema)
    paths = [u.removeprefix("file://") for u in DeltaTable(uri).file_uris()]
    if not paths:
        return pl.DataFrame(schema=schema)
    return (pl.scan_parquet(paths, schema=schema, missing_columns="insert",
                            extra_columns="ignore", hive_partitioning=False)
            .filter(pl.col("_source_file").is_in(files)).collect())


def triage(home: Home, dead: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Rows to judge again -> (to judge, already released into bronze by a replay or release
    that stopped before it recorded it (with ``_in_batch``, the releasing batch), not
    replayable (with ``why``))."""
    skip_kind = pl.col("error_kind").is_in(list(NOT_REPLAYABLE))
    skipped = [dead.filter(skip_kind | pl.col("_entity").is_null()).with_columns(
        pl.col("error_kind").replace_strict(NOT_REPLAYABLE, default=NOT_REPLAYABLE[
            "unknown_file"]).alias("why"))]
    todo, recovered = [], []
    rest = dead.filter(~skip_kind & pl.col("_entity").is_not_null())
    for (channel, name), mine in rest.group_by("_source_channel", "_entity",
                                               maintain_order=True):
        try:
            entity(channel, name)
        except KeyError:
            skipped.append(mine.with_columns(pl.lit(
                f"{channel}/{name} is no longer in the channel contract").alias("why")))
            continue
        named = pl.Series([_file_entity(channel, f) for f in mine["_source_file"]],
                          dtype=pl.Boolean)
        if not named.all():
            skipped.append(mine.filter(~named).with_columns(pl.lit(
                "the file name matches no entity of the current contract").alias("why")))
            mine = mine.filter(named)
        seen = _scan_bronze(bronze_uri(home, channel, name),
                            mine["_source_file"].unique().to_list())
        released = seen.filter(pl.col(RELEASED).is_not_null()).unique(
            subset=["_source_file", "_line"], keep="first")
        again = mine.join(released.select("_source_file", "_line",
                                          pl.col(RELEASED).alias("_in_batch")),
                          on=["_source_file", "_line"], how="left")
        recovered.append(again.filter(pl.col("_in_batch").is_not_null()))
        again = again.filter(pl.col("_in_batch").is_null()).drop("_in_batch")
        # another, later delivery of the same file name is in bronze: this line is superseded
        later = seen.filter(pl.col(RELEASED).is_null()).group_by(
            "_source_file", "_batch_id").agg(pl.col("_ingested_at").max().alias("_latest"))
        superseded = again.join(later, on="_source_file", how="inner", suffix="_later").filter(
            (pl.col("_batch_id_later") != pl.col("_batch_id"))
            & (pl.col("_latest") > pl.col("_ingested_at"))).select(IDENTITY).unique()
        skipped.append(again.join(superseded, on=list(IDENTITY), how="semi").with_columns(
            pl.lit("the file was delivered again later and that delivery is in bronze: fix "
                   "the source there").alias("why")))
        todo.append(again.join(superseded, on=list(IDENTITY), how="anti"))
    empty = dead.clear()
    return (pl.concat(todo) if todo else empty,
            pl.concat(recovered) if recovered else empty.with_columns(
                pl.lit(None, pl.String).alias("_in_batch")),
            pl.concat(skipped, how="diagonal_relaxed"))


def _file_entity(channel: str, relpath: str) -> bool:
    try:
        entity_for_file(channel, Path(relpath).name)
    except ValueError:
        return False
    return True
