"""One group of landing files of one entity parsed, validated and typed: bronze parts and
quarantine parts per file, and the row counts, for the caller to commit and add up.

A JSON-lines file bigger than ``STREAM_BYTES`` is read piece by piece (``_stream``); a file
no entity matches is one quarantine row (``_unknown``); the others are parsed together
(``parse_group``) and validated in one pass per entity (``check.check_group``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa

from lakehouse.channels.spec import Entity
from lakehouse.home import Home
from lakehouse.ingest import quarantine
from lakehouse.ingest.bronze.check import check_group, file_sizes, slices, validate_group
from lakehouse.ingest.bronze.results import FileCounts
from lakehouse.ingest.bronze.rows import LINEAGE, bronze_frame
from lakehouse.ingest.group import Group, from_parsed, parse_csv_group, parse_jsonl_group
from lakehouse.ingest.landing import LandingFile, delivered_at
from lakehouse.ingest.parse.document import parse_document
from lakehouse.ingest.parse.jsonl import parse_jsonl
from lakehouse.ingest.parse.records import empty_records, error_frame
from lakehouse.ingest.parse.typed import fast_ok
from lakehouse.ingest.validate import FILE, Context, validate
from lakehouse.storage.delta import to_arrow
from lakehouse.storage.paths import bronze_table_name, bronze_uri

UNKNOWN_PREVIEW = 1 << 16  # bytes of a file no entity matches kept in its quarantine row
STREAM_BYTES = 64 << 20  # a bigger JSON-lines file is read, checked and typed in such pieces


@dataclass(frozen=True)
class Batch:
    """What every group of a batch is worked with: the lake, the batch id, the ingest clock
    (``ingested_at`` as the rows carry it), the clock skew tolerated and the store time zones
    (for till times in local time)."""

    home: Home
    batch_id: str
    now: datetime
    ingested_at: datetime
    max_skew: timedelta
    zones: dict[str, str] | None


@dataclass
class GroupOut:
    """What one group of files produced: parts to commit and counts (applied by the caller)."""

    bronze: list[tuple[str, list]] = field(default_factory=list)  # (table uri, parts)
    quarantine: list = field(default_factory=list)  # ([app id], frame) per file
    files: dict[str, list[int]] = field(default_factory=dict)  # identity -> read, good, bad
    tables: dict[str, list[int]] = field(default_factory=dict)  # table -> read, good, bad
    held: int = 0

    def count(self, identity: str, table: str | None, read: int, good: int, bad: int) -> None:
        for key, into in ((identity, self.files), (table, self.tables)):
            if key is None:
                continue
            c = into.setdefault(key, [0, 0, 0])
            c[0] += read
            c[1] += good
            c[2] += bad


def group_work(ents: list[Entity], todo: list[LandingFile], batch: Batch) -> GroupOut:
    """Parse, validate and type one group of files of one entity (or one unknown file)."""
    out = GroupOut()
    files: list[LandingFile] = []
    for f in todo:
        if len(ents) == 1 and ents[0].format == "jsonl" and fast_ok(ents[0]) and (
                f.size > STREAM_BYTES):
            _streamed(out, f, ents[0], batch)
        elif not ents:
            _unknown(out, f, batch)
        else:
            files.append(f)
    if files:
        _together(out, ents, files, batch)
    return out


def _streamed(out: GroupOut, f: LandingFile, ent: Entity, batch: Batch) -> None:
    """A big JSON-lines file, read piece by piece (``_stream``)."""
    counts = FileCounts(f.relpath, f.channel, f.entity)
    frame, bad = _stream(f, ent, counts, batch)
    uri = bronze_uri(batch.home, ent.channel, ent.name)
    out.bronze.append((uri, [([f.app_id], frame)]))
    out.quarantine.append(([f.app_id], bad))
    out.held += frame.nbytes
    out.count(f.identity, Path(uri).name, counts.rows_read, counts.rows_bronze,
              counts.rows_quarantined)


def _unknown(out: GroupOut, f: LandingFile, batch: Batch) -> None:
    """A file no entity matches: one quarantine row, with the start of the file."""
    data = read_checked(f)
    preview = data[:UNKNOWN_PREVIEW].decode("utf-8", errors="backslashreplace")
    kept = ("" if len(data) <= UNKNOWN_PREVIEW else
            f" (its first {UNKNOWN_PREVIEW} bytes are kept here; the file itself stays "
            "in the landing zone)")
    errors = error_frame([(1, preview, "unknown_file", None,
                           f"landing/{f.relpath}: file name matches no entity of "
                           f"channel {f.channel!r} in the channel spec; nothing was "
                           f"loaded{kept}")])
    out.quarantine.append(([f.app_id], quarantine.quarantine_rows(
        errors, channel=f.channel, entity=None, source=f.relpath,
        batch_id=batch.batch_id, ingested_at=batch.ingested_at, delivered_at=delivered_at(f))))
    out.count(f.identity, None, 1, 0, 1)


def _together(out: GroupOut, ents: list[Entity], files: list[LandingFile], batch: Batch
              ) -> None:
    """Files of one entity (two for a store list) parsed at once and validated in one pass per
    entity; bronze and quarantine parts cut per file afterwards."""
    groups = parse_group(ents, files)
    sources = tuple(f.relpath for f in files)
    source_names = pl.Series("_sources", sources, dtype=pl.String)
    source = pl.lit(source_names).gather(pl.col(FILE))
    delivered = pl.lit(pl.Series("_deliveries", [delivered_at(f) for f in files],
                                 dtype=pl.Datetime("us", "UTC"))).gather(pl.col(FILE))
    q_frames = []
    for k, ent in enumerate(ents):
        group = groups.pop(ent.name)
        good, bad = check_group(ent, group, sources, batch.now, batch.max_skew, batch.zones)
        uri = bronze_uri(batch.home, ent.channel, ent.name)
        name = bronze_table_name(ent.channel, ent.name)
        n_good, n_bad = file_sizes(good, len(files)), file_sizes(bad, len(files))
        present = set().union(*group.present)
        frame = to_arrow(bronze_frame(ent, good, present, source=source,
                                      batch_id=batch.batch_id, ingested_at=batch.ingested_at,
                                      delivered_at=delivered))
        del good  # Arrow is more compact than polars string views: hold only Arrow
        out.held += frame.nbytes
        added = [g.name for g in ent.added_fields if g.name in present]
        parts = []
        for f, has, part in zip(files, group.present, slices(frame, n_good), strict=True):
            absent = [n for n in added if n not in has]  # as the file had it
            parts.append(([f.app_id], part.drop_columns(absent) if absent else part))
        out.bronze.append((uri, parts))
        q_frames.append(quarantine.quarantine_rows(
            bad, channel=ent.channel, entity=ent.name, source=source, batch_id=batch.batch_id,
            ingested_at=batch.ingested_at, delivered_at=delivered,
        ).with_columns(bad[FILE], pl.lit(k).alias("_k")))
        for f, rows, g, b in zip(files, group.rows, n_good, n_bad, strict=True):
            if rows != g + b:
                raise AssertionError(f"{f.relpath}: {rows} read != {g} + {b}")
            out.count(f.identity, name, rows, g, b)
        del group
    bad = pl.concat(q_frames)
    if len(q_frames) > 1:
        bad = bad.sort(FILE, "_k", maintain_order=True)
    sizes = file_sizes(bad, len(files))
    out.quarantine += [([f.app_id], part) for f, part in
                       zip(files, slices(bad.drop(FILE, "_k"), sizes), strict=True)]


def read_checked(f: LandingFile) -> bytes:
    data = f.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != f.sha256:
        raise RuntimeError(f"landing/{f.relpath} changed after discovery; discover again")
    return data


def parse_group(ents: list[Entity], files: list[LandingFile]) -> dict[str, Group]:
    """entity name -> records of every file of the group (JSON lines and CSV: all lines at
    once; JSON documents one by one, a document can feed two entities)."""
    if len(ents) == 1 and ents[0].format in ("csv", "jsonl"):
        parse = parse_csv_group if ents[0].format == "csv" else parse_jsonl_group
        datas = [read_checked(f) for f in files]
        return {ents[0].name: parse(ents[0], datas, [f.relpath for f in files])}
    parsed = [parse_document(ents, read_checked(f), f.relpath) for f in files]
    return {e.name: from_parsed([p[e.name] for p in parsed]) for e in ents}


def _stream(f: LandingFile, ent: Entity, counts: FileCounts, batch: Batch):
    """A big JSON-lines file piece by piece, so memory holds its bronze rows as Arrow plus one
    piece in the works: (bronze Arrow table, quarantine frame). Nothing is committed here, and
    a file that changed while it was read is refused before anything is."""
    digest = hashlib.sha256()
    frames: list = []
    bads: list[pl.DataFrame] = []
    present: set[str] = set()
    carry, first, optimistic = b"", 1, True
    delivered = delivered_at(f)
    with f.path.open("rb") as fh:
        while True:
            block = fh.read(STREAM_BYTES)
            digest.update(block)
            data = carry + block
            if block:
                cut = data.rfind(b"\n")
                if cut < 0:
                    carry = data
                    continue
                data, carry = data[:cut + 1], data[cut + 1:]
            if data:
                p = parse_jsonl(ent, data, f.relpath, first=first, optimistic=optimistic)
                optimistic = not p.refused
                first += data.count(b"\n")
                ((good, bad),) = validate_group(ent, [p], (f.relpath,), batch.now,
                                                batch.max_skew, None)
                if good is None:
                    good = validate(ent, empty_records(ent), Context(f.relpath, batch.now))[0]
                present |= p.present
                frames.append(to_arrow(bronze_frame(
                    ent, good, p.present, source=f.relpath, batch_id=batch.batch_id,
                    ingested_at=batch.ingested_at, delivered_at=delivered)))
                bads.append(bad)
                counts.rows_read += p.rows
                counts.rows_bronze += good.height
                counts.rows_quarantined += bad.height
                del p, good, data
            if not block:
                break
    if digest.hexdigest() != f.sha256:
        raise RuntimeError(f"landing/{f.relpath} changed after discovery; discover again")
    assert counts.rows_read == counts.rows_bronze + counts.rows_quarantined
    order = [g.name for g in ent.fields] + [g.name for g in ent.added_fields
                                            if g.name in present] + list(LINEAGE)
    frame = pa.concat_tables(frames, promote_options="default").select(order)
    bad = quarantine.quarantine_rows(pl.concat(bads), channel=ent.channel, entity=ent.name,
                                     source=f.relpath, batch_id=batch.batch_id,
                                     ingested_at=batch.ingested_at, delivered_at=delivered)
    return frame, bad
