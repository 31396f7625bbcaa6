"""Bronze rows that waited for reference data: till lines in store-local time whose store had no
time zone in the landed store list when their file was ingested (``unresolved_timezone``).

Once a store list that names the zone has landed, every ingest re-reads the waiting lines from
their own landing file with the same parser and contract checks, appends the lines that pass
to bronze (their original ``_source_file``, ``_line`` and ``_batch_id``, with the releasing
batch in ``_released_by``, in one commit carrying ``Transaction("lakehouse.release/<batch>")``)
and records the release on their quarantine rows. A line that still fails stays quarantined.
Silver reads a batch's released bronze rows as the batch's own (``delta_io._of_batch``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
from deltalake import DeltaTable

from lakehouse.home import Home
from lakehouse.ingest.bronze.check import check_group
from lakehouse.ingest.bronze.rows import bronze_frame, entities_of
from lakehouse.ingest.bronze.work import parse_group
from lakehouse.ingest.landing import delivered_at, landing_file, location_timezones
from lakehouse.ingest.parse.records import LINE
from lakehouse.ingest.quarantine import BRONZE_RETRYABLE, KEY, mark_released
from lakehouse.storage.delta import append_files_once, to_arrow
from lakehouse.storage.paths import bronze_uri, quarantine_uri

RELEASED = "_released_by"
# bronze entities whose waiting rows a file of this entity can release (its zones)
RELEASES = {("locations", "locations"): (("pos", "transactions"),)}


def _waiting(uri: str) -> pl.DataFrame:
    if not DeltaTable.is_deltatable(uri):
        return pl.DataFrame()
    dt = DeltaTable(uri)
    have = {f.name for f in dt.schema().fields}
    files = [u.removeprefix("file://") for u in dt.file_uris()]
    if not files:
        return pl.DataFrame()
    frame = pl.scan_parquet(files, hive_partitioning=False, missing_columns="insert",
                            extra_columns="ignore").filter(
        pl.col("error_kind").is_in(sorted(BRONZE_RETRYABLE)))
    if "released_by" in have:
        frame = frame.filter(pl.col("released_by").is_null())
    return frame.select(*KEY, "_batch_id").collect()


def _released_already(uri: str) -> pl.DataFrame:
    """(file, line) of rows a release already appended to a bronze table (a crash between the
    append and the quarantine record must not append them twice)."""
    if not DeltaTable.is_deltatable(uri):
        return pl.DataFrame(schema={"_source_file": pl.String, "_line": pl.Int64})
    dt = DeltaTable(uri)
    if RELEASED not in {f.name for f in dt.schema().fields}:
        return pl.DataFrame(schema={"_source_file": pl.String, "_line": pl.Int64})
    files = [u.removeprefix("file://") for u in dt.file_uris()]
    return pl.scan_parquet(files, hive_partitioning=False, missing_columns="insert",
                           extra_columns="ignore").filter(pl.col(RELEASED).is_not_null()).select(
        "_source_file", "_line").collect()


def release_waiting(home: Home, batch_id: str, *, now: datetime, max_skew: timedelta,
                    ingested_at: datetime) -> dict[str, int]:
    """Release the bronze rows waiting for a store's time zone that the landed store list now
    gives; returns rows appended per bronze table name."""
    q_uri = quarantine_uri(home)
    waiting = _waiting(q_uri)
    if waiting.is_empty():
        return {}
    zones = location_timezones(home)
    if not zones:  # no store list has landed: nothing can resolve (no file is re-read)
        return {}
    appended: dict[str, int] = {}
    released: list[pl.DataFrame] = []
    for (channel, entity, source), rows in waiting.group_by(
            "_source_channel", "_entity", "_source_file", maintain_order=True):
        path = home.landing / str(source)
        if not path.is_file():
            continue  # the file is gone: nothing to re-read (replay from raw is the way)
        f = landing_file(home, path)
        ents = [e for e in entities_of(f) if (e.channel, e.name) == (channel, entity)]
        if not ents:
            continue
        ent = ents[0]
        group = parse_group(ents, [f])[ent.name]
        good, _ = check_group(ent, group, (f.relpath,), now, max_skew, zones)
        lines = rows.select(pl.col("_line").alias(LINE), "_batch_id")
        good = good.join(lines, on=LINE, how="inner") if good.height else good
        if good.is_empty():
            continue
        # every line that passes is marked released, appended now or by a run that crashed
        # before its mark: that one's lines are in bronze already and are not appended again
        released.append(good.select(pl.lit(channel).alias("_source_channel"),
                                    pl.lit(entity).alias("_entity"),
                                    pl.lit(f.relpath).alias("_source_file"),
                                    pl.col(LINE).cast(pl.Int64).alias("_line"), "_batch_id"))
        uri = bronze_uri(home, channel, entity)
        good = good.join(_released_already(uri).filter(pl.col("_source_file") == f.relpath)
                         .select(pl.col("_line").alias(LINE)), on=LINE, how="anti")
        if good.is_empty():
            continue
        frames = []
        for (batch,), part in good.group_by("_batch_id", maintain_order=True):
            frames.append(bronze_frame(ent, part, set().union(*group.present),
                                       source=f.relpath, batch_id=str(batch),
                                       ingested_at=ingested_at, delivered_at=delivered_at(f))
                          .with_columns(pl.lit(batch_id, pl.String).alias(RELEASED)))
        frame = pl.concat(frames, how="diagonal_relaxed")
        written = append_files_once(uri, [([f"lakehouse.release/{batch_id}/{f.identity}"],
                                           to_arrow(frame))])
        if written:
            appended[Path(uri).name] = appended.get(Path(uri).name, 0) + frame.height
    if released:
        mark_released(q_uri, pl.concat(released), batch_id, now)
    return appended
