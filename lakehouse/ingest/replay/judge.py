"""Dead rows judged again by the current contract: each delivery rebuilt in a scratch home as a
file holding only the selected rows, each at its original line (record), and ingested there
with ``ingest_files`` against the original ingest clock."""

from __future__ import annotations

import hashlib
import inspect
import json
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable

from lakehouse.channels import entity, entity_for_file
from lakehouse.channels.spec import Entity
from lakehouse.home import Home
from lakehouse.ingest.bronze.rows import entities_of
from lakehouse.ingest.bronze.run import ingest_files
from lakehouse.ingest.landing import LandingFile
from lakehouse.ingest.parse.document import DOCUMENT_ARRAYS
from lakehouse.ingest.quarantine import KEY, SCHEMA
from lakehouse.ingest.release import RELEASED
from lakehouse.storage.paths import bronze_uri, quarantine_uri

APP_PREFIX = "lakehouse.replay/"
# what bronze ingestion tolerates of a clock ahead of the ingest clock (the pipeline ingests
# with ``ingest_files``' default; read from it so the two cannot drift apart)
MAX_SKEW: timedelta = inspect.signature(ingest_files).parameters["max_skew"].default
_CLOCKED = {"ts_iso", "ts_local", "epoch_ms", "epoch_s"}  # field types checked against it
_EXTRA = ("_origin", "_own_clock")
# how a future_timestamp reason names the ingest clock (``validate._future``)
_CLOCK_WORDS = "after the ingest time "
_CLOCK_IN_REASON = _CLOCK_WORDS + r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
# the quarantine rows of judged rows that still fail: their key and how they fail now
FAILING = {**{k: SCHEMA[k] for k in KEY}, "kind_now": pl.String, "field_now": pl.String,
           "reason_now": pl.String}


def _parts(rows: pl.DataFrame) -> list[pl.DataFrame]:
    """``rows`` in scratch ingests: one delivery per file name in each (a name delivered twice
    goes to two), and POS rows apart (they need the store lists: see ``_scratch_ingest``)."""
    ranked = rows.with_columns(
        pl.col("_batch_id").rank("dense").over("_source_file").alias("_round"),
        (pl.col("_source_channel") == "pos").alias("_pos"))
    return [part.drop("_round", "_pos") for _, part in
            ranked.group_by("_round", "_pos", maintain_order=True)]


def _scratch_ingest(home: Home, part: pl.DataFrame, batch_id: str, clock: datetime
                    ) -> tuple[dict[tuple[str, str], pl.DataFrame], pl.DataFrame]:
    """The part's rows rebuilt as landing files in a scratch home and ingested with
    ``ingest_files`` at ``clock``: (bronze rows that passed per entity, with ``_origin`` (their
    original batch) and ``_own_clock`` (its ingest time); the quarantine rows of the others)."""
    keys = list(KEY)
    with tempfile.TemporaryDirectory(prefix="lakehouse-replay-") as tmp:
        scratch = Home.resolve(tmp).ensure()
        if part["_source_channel"][0] == "pos":
            # local till times need the store lists of the real landing zone: copies of them
            # (no replayed store list is in this part to mix in)
            zones = scratch.channel_dir("locations")
            zones.mkdir(parents=True, exist_ok=True)
            for path in sorted(home.channel_dir("locations").glob("locations_*.json")):
                shutil.copyfile(path, zones / path.name)
        files = []
        for (relpath,), mine in part.group_by("_source_file", maintain_order=True):
            channel = mine["_source_channel"][0]
            ent = entity_for_file(channel, Path(relpath).name)
            path = scratch.landing / relpath
            path.parent.mkdir(parents=True, exist_ok=True)
            body = _file_body(home, relpath, entities_of(_stub(relpath, channel, ent)), mine)
            path.write_bytes(body)
            files.append(LandingFile(relpath, hashlib.sha256(body).hexdigest(), len(body),
                                     channel, ent.name, path, mine["_delivered_at"][0]))
        ingest_files(scratch, files, batch_id, now=clock)
        origin = part.select(*keys, pl.col("_batch_id").alias("_origin"),
                             pl.col("_ingested_at").alias("_own_clock"))
        good: dict[tuple[str, str], pl.DataFrame] = {}
        for (channel, name), _ in part.group_by("_source_channel", "_entity"):
            uri = bronze_uri(scratch, channel, name)
            if DeltaTable.is_deltatable(uri):
                rows_ = _read(uri).with_columns(pl.lit(channel).alias("_source_channel"),
                                                pl.lit(name).alias("_entity"))
                good[(channel, name)] = rows_.join(origin, on=keys, how="inner")
        bad = _read(quarantine_uri(scratch)).join(origin, on=keys, how="semi").select(
            *keys, pl.col("error_kind").alias("kind_now"), pl.col("field").alias("field_now"),
            pl.col("reason").alias("reason_now"))
    return good, bad


def _late(ent: Entity, rows: pl.DataFrame) -> pl.Series:
    """Rows with a timestamp later than their own ingest clock allowed (``_own_clock``)."""
    clocked = [f.name for f in ent.all_fields if f.type in _CLOCKED and f.name in rows.columns]
    if not clocked or rows.is_empty():
        return pl.Series([False] * rows.height, dtype=pl.Boolean)
    limit = pl.col("_own_clock") + MAX_SKEW
    return rows.select(pl.any_horizontal([(pl.col(c) > limit).fill_null(False)
                                          for c in clocked]))[:, 0]


def judge(home: Home, todo: pl.DataFrame, batch_id: str, now: datetime
           ) -> tuple[dict[tuple[str, str], list[tuple[str, pl.DataFrame]]], pl.DataFrame]:
    """Dead rows through the current contract in scratch homes: ({(channel, entity): [(app
    id, bronze rows of one delivery)]}, the quarantine rows of those that still fail). Bronze
    rows carry this replay's batch and ingest time (``now``), and their original file, line and
    delivery time.

    Each row is judged against its own original ingest clock. Rows of many batches share one
    scratch ingest at the latest of their clocks (one ingest per batch would cost per batch):
    a row that fails there fails at its own (earlier) clock too, and a reason naming the clock
    names its own; the few rows that passed only thanks to the later clock (a timestamp past
    their own limit) are judged again at their own."""
    keys = list(KEY)
    goods: dict[tuple[str, str], list[pl.DataFrame]] = {}
    bads: list[pl.DataFrame] = []

    def run(rows: pl.DataFrame, clock: datetime | None) -> None:
        for part in _parts(rows):
            good, bad = _scratch_ingest(home, part, batch_id,
                                        clock or part["_ingested_at"].max())
            for k, frame in good.items():
                goods.setdefault(k, []).append(frame)
            bads.append(bad)

    run(todo, None)
    own = todo.select(*keys, pl.col("_ingested_at").dt.strftime("%Y-%m-%dT%H:%M:%SZ")
                      .alias("_own"))
    bads = [bad.join(own, on=keys, how="left").with_columns(
        pl.col("reason_now").str.replace(_CLOCK_IN_REASON, pl.lit(_CLOCK_WORDS) + pl.col("_own"))
    ).drop("_own") for bad in bads]
    again = []
    for (channel, name), frames in goods.items():
        for frame in frames:
            late = frame.filter(_late(entity(channel, name), frame))
            again.append(late.select(keys))
    recheck = pl.concat(again) if again else todo.select(keys).clear()
    if not recheck.is_empty():
        goods = {k: [f.join(recheck, on=keys, how="anti") for f in frames]
                 for k, frames in goods.items()}
        bads = [b.join(recheck, on=keys, how="anti") for b in bads]
        rows = todo.join(recheck, on=keys, how="semi")
        for (clock,), mine in rows.group_by("_ingested_at", maintain_order=True):
            run(mine, clock)
    passed: dict[tuple[str, str], list[tuple[str, pl.DataFrame]]] = {}
    stamp = [pl.col("_origin").alias("_batch_id"),
             pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
             pl.lit(batch_id, pl.String).alias(RELEASED)]
    for (channel, name), frames in sorted(goods.items()):
        added = [f.name for f in entity(channel, name).added_fields]
        for frame in frames:
            for (relpath, origin), rows_of_file in frame.group_by(
                    "_source_file", "_origin", maintain_order=True):
                # fields added to the contract mid-stream only as the file had them (bronze)
                absent = [c for c in added if c in rows_of_file.columns
                          and rows_of_file[c].null_count() == rows_of_file.height]
                rows_of_file = rows_of_file.with_columns(stamp).drop(
                    "_source_channel", "_entity", *_EXTRA, *absent)
                passed.setdefault((channel, name), []).append(
                    (_app_id(relpath, origin, rows_of_file), rows_of_file))
    failing = [b for b in bads if b.height]
    return passed, pl.concat(failing) if failing else pl.DataFrame(schema=FAILING)


def _csv_header(home: Home, relpath: str, ent: Entity, sample: str) -> str:
    """The header the delivery had: the landing file's own first line while it is there, else
    the contract's columns (added fields as far as the row has values for)."""
    path = home.landing / relpath
    if path.is_file():
        with path.open("rb") as fh:
            first = fh.readline().decode("utf-8", errors="replace").rstrip("\r\n")
        if first.strip():
            return first
    import csv

    n = len(next(csv.reader([sample]), []))
    names = [f.name for f in ent.fields]
    names += [f.name for f in ent.added_fields][:max(0, n - len(names))]
    return ",".join(names)


def _file_body(home: Home, relpath: str, ents: list[Entity], mine: pl.DataFrame) -> bytes:
    """The selected rows of one delivery as a landing file, each at its original line (CSV,
    JSON lines: blank lines between, which are no records) or record (JSON documents: nulls
    between, whose errors are not kept)."""
    if ents[0].format == "json":
        doc: dict[str, list] = {}
        for ent in ents:
            records = mine.filter(pl.col("_entity") == ent.name).select("_line", "raw")
            array: list = [None] * int(records["_line"].max() or 0)
            for line, raw in records.iter_rows():
                try:
                    array[line - 1] = json.loads(raw)
                except ValueError:  # not a JSON value: judged as the text it is
                    array[line - 1] = raw
            doc[DOCUMENT_ARRAYS[(ent.channel, ent.name)]] = array
        return json.dumps(doc, ensure_ascii=False).encode()
    records = mine.sort("_line").select("_line", "raw").rows()
    lines: list[str] = []
    cursor = 1
    if ents[0].format == "csv":
        lines.append(_csv_header(home, relpath, ents[0], records[0][1]))
        cursor = 2
    for line, raw in records:
        if line < cursor:  # overlapping records (not in a real file): judged where they fit
            line = cursor
        lines += [""] * (line - cursor)
        lines.append(raw)
        cursor = line + raw.count("\n") + 1
    return ("\n".join(lines) + "\n").encode()


def _stub(relpath: str, channel: str, ent: Entity) -> LandingFile:
    return LandingFile(relpath, "", 0, channel, ent.name, Path(relpath))


def _app_id(relpath: str, origin: str, rows_of_file: pl.DataFrame) -> str:
    """Application-transaction id of a set of lines of one delivery: the same lines replayed
    again are the same id (never appended twice), other lines of it a new one."""
    digest = hashlib.sha256()
    for line in sorted(rows_of_file["_line"].to_list()):
        digest.update(f"{line}\n".encode())
    return f"{APP_PREFIX}{relpath}@{origin}#{digest.hexdigest()[:16]}"


def _read(uri: str) -> pl.DataFrame:
    dt = DeltaTable(uri)
    files = [u.removeprefix("file://") for u in dt.file_uris()]
    if not files:
        schema = pa.schema(dt.schema().to_arrow())
        return pl.from_arrow(pa.Table.from_batches([], schema=schema))  # type: ignore[return-value]
    return pl.scan_parquet(files, hive_partitioning=False, missing_columns="insert",
                           extra_columns="ignore").collect()
