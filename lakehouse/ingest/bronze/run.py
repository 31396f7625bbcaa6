"""Ingest a batch of landing files: parse -> validate -> bronze tables + quarantine, once.

Exactly once per file and table: every file's rows (possibly none) are committed to each table
it feeds together with ``Transaction(file.app_id, 1)``; ``append_files_once`` checks those ids
on the snapshot it writes through, so a re-run, a re-delivery or a retry after a crash writes
only what is missing. Each table is one commit per batch, made as soon as its last group is
parsed (while later groups are), unless the frames held pass ``FLUSH_BYTES``: then what is
pending is committed early, so memory stays bounded. Files of one
entity are parsed and validated together (per ``GROUP_BYTES`` group, see ``group``), which
keeps the per-file cost of a batch of many small files low. There are no side files.
"""

from __future__ import annotations

import hashlib
import os
from collections import defaultdict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable

from lakehouse.channels.spec import Entity, entity
from lakehouse.home import Home
from lakehouse.ingest import quarantine
from lakehouse.ingest.group import Group, from_parsed, parse_csv_group, parse_jsonl_group
from lakehouse.ingest.landing import LandingFile, delivered_at, location_timezones
from lakehouse.ingest.parse import (
    EXTRA,
    LINE,
    RAW,
    Parsed,
    error_frame,
    fast_ok,
    parse_document,
    parse_jsonl,
)
from lakehouse.ingest.parse import (
    _empty_records as parse_empty,
)
from lakehouse.ingest.release import release_waiting
from lakehouse.ingest.validate import FILE, Context, bronze_dtype, validate
from lakehouse.storage.delta import append_files_once, committed, to_arrow
from lakehouse.storage.paths import bronze_table_name, bronze_uri, quarantine_uri

QUARANTINE_TABLE = "quarantine/rows"
APP_VERSION = 1
UNKNOWN_PREVIEW = 1 << 16  # bytes of a file no entity matches kept in its quarantine row
# ``_ingested_at``: when this run ingested the row (wall clock); ``_delivered_at``: its knowledge
# time, the delivery (modification) time of the landing file that brought it (DESIGN.md rule 8)
LINEAGE = ("_source_file", "_line", "_batch_id", "_ingested_at", "_delivered_at", "_extra")
# what each lineage column holds, for every table that carries them (bronze, silver)
LINEAGE_DOCS = {
    "_source_file": "Landing file the row came from (path under landing/).",
    "_line": "Line (JSON lines, CSV; 1 = first data line) or record index (JSON documents) "
    "of the row in its file.",
    "_batch_id": "Ingestion batch that brought the row (stable id of a set of files).",
    "_ingested_at": "When the batch was ingested (UTC): arrival time.",
    "_delivered_at": "When the file was delivered (its modification time, UTC): the row's "
    "knowledge time.",
    "_extra": "Fields the contract does not declare, kept as JSON so nothing is lost.",
    "_released_by": "Batch that released the row from the quarantine, where it waited for a "
    "reference: the ingest or replay batch that appended it to bronze, or the silver build "
    "that let it into silver; null for a row that never waited. Its _source_file, _line and "
    "_batch_id stay those of the original delivery.",
}


@dataclass
class FileCounts:
    relpath: str
    channel: str
    entity: str | None
    rows_read: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    skipped: bool = False  # already ingested into every table it feeds


@dataclass
class TableCounts:
    table: str
    rows_read: int = 0
    rows_bronze: int = 0
    rows_quarantined: int = 0
    rows_appended: int = 0  # rows this run committed (0 when everything was already there)
    files_committed: int = 0
    rows_released: int = 0  # quarantined rows of earlier batches released into this table


@dataclass
class IngestResult:
    batch_id: str
    files: list[FileCounts] = field(default_factory=list)
    tables: dict[str, TableCounts] = field(default_factory=dict)
    quarantined_by_kind: dict[str, int] = field(default_factory=dict)  # error_kind -> rows

    @property
    def rows_read(self) -> int:
        return sum(f.rows_read for f in self.files)

    @property
    def rows_bronze(self) -> int:
        return sum(f.rows_bronze for f in self.files)

    @property
    def rows_quarantined(self) -> int:
        return sum(f.rows_quarantined for f in self.files)

    @property
    def files_skipped(self) -> int:
        return sum(f.skipped for f in self.files)

    def metadata(self) -> dict:
        """Plain numbers for run metadata (read = bronze + quarantined holds by construction)."""
        return {
            "batch_id": self.batch_id, "files": len(self.files),
            "files_skipped": self.files_skipped, "rows_read": self.rows_read,
            "rows_bronze": self.rows_bronze, "rows_quarantined": self.rows_quarantined,
            "tables": {k: asdict(v) for k, v in sorted(self.tables.items())},
            "quarantined_by_kind": dict(sorted(self.quarantined_by_kind.items())),
        }


def entities_of(f: LandingFile) -> list[Entity]:
    """The bronze entities a file feeds (a locations file feeds two)."""
    if f.entity is None:
        return []
    if (f.channel, f.entity) == ("locations", "locations"):
        return [entity("locations", "locations"), entity("locations", "shipping_rates")]
    return [entity(f.channel, f.entity)]


def _instant(value: datetime | pl.Expr) -> pl.Expr:
    return (value if isinstance(value, pl.Expr) else pl.lit(value)).cast(pl.Datetime("us", "UTC"))


def bronze_frame(ent: Entity, good: pl.DataFrame, present: set[str], *,
                 source: str | pl.Expr, batch_id: str, ingested_at: datetime,
                 delivered_at: datetime | pl.Expr) -> pl.DataFrame:
    """Typed spec columns (added fields only once they appear) + lineage columns.

    ``source`` is the file name, or an expression giving it per row (a group of files);
    ``delivered_at`` likewise the file's delivery time."""
    cols = [f for f in ent.fields] + [f for f in ent.added_fields if f.name in present]
    return good.select(
        *[pl.col(f.name).cast(bronze_dtype(f)) for f in cols],
        (source if isinstance(source, pl.Expr) else pl.lit(source, pl.String))
        .cast(pl.String).alias("_source_file"),
        pl.col(LINE).cast(pl.Int64).alias("_line"),
        pl.lit(batch_id, pl.String).alias("_batch_id"),
        pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
        _instant(delivered_at).alias("_delivered_at"),
        pl.col(EXTRA).cast(pl.String).alias("_extra"),
    )


def _open(uri: str) -> DeltaTable | None:
    return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None


GROUP_BYTES = 64 << 20  # files of one entity are parsed and validated together up to this
FLUSH_BYTES = 1 << 30  # commit what is pending once the frames held reach about this


def _groups(files: list[LandingFile]) -> list[list[LandingFile]]:
    """Files of one entity together (validation is one pass per group), in bounded groups."""
    by_entity: dict[tuple[str, str | None], list[LandingFile]] = defaultdict(list)
    for f in files:
        by_entity[(f.channel, f.entity if f.entity is not None else f.relpath)].append(f)
    out = []
    for key in sorted(by_entity, key=str):
        group: list[LandingFile] = []
        size = 0
        for f in by_entity[key]:
            if group and size + f.size > GROUP_BYTES:
                out.append(group)
                group, size = [], 0
            group.append(f)
            size += f.size
        out.append(group)
    return out


def _check_group(ent: Entity, group: Group, sources: tuple[str, ...], now: datetime,
                 max_skew: timedelta, zones: dict[str, str] | None):
    """Validate one entity's records of several files in one pass per record form.

    Returns (good, bad) for the whole group, each with the ``_file`` index column and sorted by
    (file, line): good rows typed, bad rows (parse errors included) with raw text filled in.
    """
    ctx = Context(sources[0], now, max_skew, zones,
                  "record" if ent.format == "json" else "line", sources)
    goods, bads = [], []
    for frames in (group.native, group.text):
        if not frames:
            continue
        # one chunk: the many small chunks of a parse cost polars more than the copy
        good, bad = validate(ent, pl.concat(frames, how="vertical_relaxed").rechunk(), ctx)
        goods.append(good)
        if bad.height:
            bads.append(bad.with_columns(pl.col(FILE).cast(pl.Int32)))
    if not goods:
        good = validate(ent, parse_empty(ent), ctx)[0].with_columns(
            pl.lit(None, pl.Int32).alias(FILE))
    elif len(goods) == 1 and goods[0][FILE].is_sorted():
        good = goods[0]  # one record form, and its frames came in file order
    else:  # (files read one by one or under another CSV header come after the others)
        good = pl.concat(goods, how="diagonal_relaxed").sort(FILE, LINE)
    errors = group.errors
    bad = pl.concat([b.select(LINE, RAW, "error_kind", "field", "reason", FILE)
                     for b in errors + bads], how="vertical_relaxed") if errors or bads else (
        error_frame([]).with_columns(pl.lit(None, pl.Int32).alias(FILE)))
    missing = bad.filter(pl.col(RAW).is_null())
    if missing.height:
        fills = []
        for (i,), rows in missing.partition_by(FILE, as_dict=True, maintain_order=True).items():
            lines = rows[LINE].to_list()
            raw_of = group.raw_of[i]
            fills.append(pl.DataFrame({FILE: pl.Series([i] * len(lines), dtype=pl.Int32),
                                       LINE: pl.Series(lines, dtype=pl.Int64),
                                       "_fill": pl.Series(raw_of(lines) if raw_of else
                                                          [None] * len(lines), dtype=pl.String)}))
        bad = bad.join(pl.concat(fills), on=[FILE, LINE], how="left").with_columns(
            pl.col(RAW).fill_null(pl.col("_fill"))).drop("_fill")
    return good, bad.sort(FILE, LINE)


def _file_sizes(frame: pl.DataFrame, n: int) -> list[int]:
    """Rows per file index (0..n-1) of a frame sorted by ``_file``."""
    sizes = [0] * n
    if frame.height:
        for i, c in frame[FILE].value_counts().iter_rows():
            sizes[i] = c
    return sizes


def _slices(frame, sizes: list[int]) -> list:
    """Consecutive zero-copy slices of ``frame`` (polars or Arrow) of the given sizes."""
    out, offset = [], 0
    for size in sizes:
        out.append(frame.slice(offset, size))
        offset += size
    return out


def _validate_group(ent: Entity, parsed: list[Parsed], sources: tuple[str, ...], now: datetime,
                    max_skew: timedelta, zones: dict[str, str] | None):
    """Per-file (good, bad) frames of ``_check_group``, in the order of ``parsed``."""
    good, bad = _check_group(ent, from_parsed(parsed), sources, now, max_skew, zones)
    goods = _slices(good, _file_sizes(good, len(parsed)))
    bads = _slices(bad, _file_sizes(bad, len(parsed)))
    return [(g.drop(FILE) if g.height else None, b.drop(FILE))
            for g, b in zip(goods, bads, strict=True)]


STREAM_BYTES = 64 << 20  # a bigger JSON-lines file is read, checked and typed in such pieces


def _stream(f: LandingFile, ent: Entity, counts: FileCounts, result: IngestResult, *,
            now: datetime, max_skew: timedelta, batch_id: str, ingested_at: datetime):
    """A big JSON-lines file piece by piece, so memory holds its bronze rows as Arrow plus one
    piece in the works: (bronze Arrow table, quarantine frame). Nothing is committed here, and
    a file that changed while it was read is refused before anything is."""
    digest = hashlib.sha256()
    frames: list = []
    bads: list[pl.DataFrame] = []
    present: set[str] = set()
    name = bronze_table_name(ent.channel, ent.name)
    tc = result.tables.setdefault(name, TableCounts(name))
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
                ((good, bad),) = _validate_group(ent, [p], (f.relpath,), now, max_skew, None)
                if good is None:
                    good = validate(ent, parse_empty(ent), Context(f.relpath, now))[0]
                present |= p.present
                frames.append(to_arrow(bronze_frame(ent, good, p.present, source=f.relpath,
                                                    batch_id=batch_id, ingested_at=ingested_at,
                                                    delivered_at=delivered)))
                bads.append(bad)
                for c in (counts, tc):
                    c.rows_read += p.rows
                    c.rows_bronze += good.height
                    c.rows_quarantined += bad.height
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
                                     source=f.relpath, batch_id=batch_id, ingested_at=ingested_at,
                                     delivered_at=delivered)
    return frame, bad


# groups parsed and validated at once (LAKEHOUSE_THREADS=1: one at a time)
WORKERS = int(os.environ.get("LAKEHOUSE_THREADS") or min(2, os.cpu_count() or 1))


@dataclass
class _GroupOut:
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


def _read_checked(f: LandingFile) -> bytes:
    data = f.path.read_bytes()
    if hashlib.sha256(data).hexdigest() != f.sha256:
        raise RuntimeError(f"landing/{f.relpath} changed after discovery; discover again")
    return data


def _parse_group(ents: list[Entity], files: list[LandingFile]) -> dict[str, Group]:
    """entity name -> records of every file of the group (JSON lines and CSV: all lines at
    once; JSON documents one by one, a document can feed two entities)."""
    if len(ents) == 1 and ents[0].format in ("csv", "jsonl"):
        parse = parse_csv_group if ents[0].format == "csv" else parse_jsonl_group
        datas = [_read_checked(f) for f in files]
        return {ents[0].name: parse(ents[0], datas, [f.relpath for f in files])}
    parsed = [parse_document(ents, _read_checked(f), f.relpath) for f in files]
    return {e.name: from_parsed([p[e.name] for p in parsed]) for e in ents}


def _group_work(ents: list[Entity], todo: list[LandingFile], *, home: Home, now: datetime,
                max_skew: timedelta, zones: dict[str, str] | None, batch_id: str,
                ingested_at: datetime) -> _GroupOut:
    """Parse, validate and type one group of files of one entity (or one unknown file)."""
    out = _GroupOut()
    files: list[LandingFile] = []
    for f in todo:
        if len(ents) == 1 and ents[0].format == "jsonl" and fast_ok(ents[0]) and (
                f.size > STREAM_BYTES):
            mine = IngestResult(batch_id)
            counts = FileCounts(f.relpath, f.channel, f.entity)
            frame, bad = _stream(f, ents[0], counts, mine, now=now, max_skew=max_skew,
                                 batch_id=batch_id, ingested_at=ingested_at)
            uri = bronze_uri(home, ents[0].channel, ents[0].name)
            out.bronze.append((uri, [([f.app_id], frame)]))
            out.quarantine.append(([f.app_id], bad))
            out.held += frame.nbytes
            out.count(f.identity, Path(uri).name, counts.rows_read, counts.rows_bronze,
                      counts.rows_quarantined)
            continue
        if not ents:
            data = _read_checked(f)
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
                batch_id=batch_id, ingested_at=ingested_at, delivered_at=delivered_at(f))))
            out.count(f.identity, None, 1, 0, 1)
            continue
        files.append(f)
    if not files:
        return out
    groups = _parse_group(ents, files)
    sources = tuple(f.relpath for f in files)
    source_names = pl.Series("_sources", sources, dtype=pl.String)
    source = pl.lit(source_names).gather(pl.col(FILE))
    delivered = pl.lit(pl.Series("_deliveries", [delivered_at(f) for f in files],
                                 dtype=pl.Datetime("us", "UTC"))).gather(pl.col(FILE))
    q_frames = []
    for k, ent in enumerate(ents):
        group = groups.pop(ent.name)
        good, bad = _check_group(ent, group, sources, now, max_skew, zones)
        uri = bronze_uri(home, ent.channel, ent.name)
        name = bronze_table_name(ent.channel, ent.name)
        n_good, n_bad = _file_sizes(good, len(files)), _file_sizes(bad, len(files))
        present = set().union(*group.present)
        frame = to_arrow(bronze_frame(ent, good, present, source=source, batch_id=batch_id,
                                      ingested_at=ingested_at, delivered_at=delivered))
        del good  # Arrow is more compact than polars string views: hold only Arrow
        out.held += frame.nbytes
        added = [g.name for g in ent.added_fields if g.name in present]
        parts = []
        for f, has, part in zip(files, group.present, _slices(frame, n_good), strict=True):
            absent = [n for n in added if n not in has]  # as the file had it
            parts.append(([f.app_id], part.drop_columns(absent) if absent else part))
        out.bronze.append((uri, parts))
        q_frames.append(quarantine.quarantine_rows(
            bad, channel=ent.channel, entity=ent.name, source=source, batch_id=batch_id,
            ingested_at=ingested_at, delivered_at=delivered,
        ).with_columns(bad[FILE], pl.lit(k).alias("_k")))
        for f, rows, g, b in zip(files, group.rows, n_good, n_bad, strict=True):
            if rows != g + b:
                raise AssertionError(f"{f.relpath}: {rows} read != {g} + {b}")
            out.count(f.identity, name, rows, g, b)
        del group
    bad = pl.concat(q_frames)
    if len(q_frames) > 1:
        bad = bad.sort(FILE, "_k", maintain_order=True)
    sizes = _file_sizes(bad, len(files))
    out.quarantine += [([f.app_id], part) for f, part in
                       zip(files, _slices(bad.drop(FILE, "_k"), sizes), strict=True)]
    return out


def ingested(home: Home | str | Path, files: list[LandingFile]) -> set[str]:
    """Identities of the ``files`` whose content is fully ingested: the quarantine table
    commits each file's transaction last, after every bronze table it feeds, so the lake
    itself says which files are done (no list kept beside it)."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    uri = quarantine_uri(home)
    if not files or not DeltaTable.is_deltatable(uri):
        return set()
    dt = DeltaTable(uri)
    return {f.identity for f in files if committed(dt, f.app_id, APP_VERSION)}


def ingest_files(
    home: Home | str | Path,
    files: list[LandingFile],
    batch_id: str,
    *,
    now: datetime | None = None,
    max_skew: timedelta = timedelta(days=1),
) -> IngestResult:
    """Ingest ``files`` as batch ``batch_id``; safe to re-run, in any order, after any crash."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    now = (now or datetime.now(UTC)).astimezone(UTC)
    ingested_at = now.replace(microsecond=now.microsecond)
    files = sorted({f.identity: f for f in files}.values(), key=lambda f: f.identity)
    result = IngestResult(batch_id)
    q_uri = quarantine_uri(home)
    tables: dict[str, DeltaTable | None] = {}
    zones: dict[str, str] | None = None
    bronze_parts: dict[str, list] = defaultdict(list)
    q_parts: list = []
    held = 0
    counts_of: dict[str, FileCounts] = {}

    def table(uri: str) -> DeltaTable | None:
        if uri not in tables:
            tables[uri] = _open(uri)
        return tables[uri]

    writer = ThreadPoolExecutor(1)  # commits while later groups are parsed
    commits: deque[tuple[str, dict[str, int], Future]] = deque()

    def commit(uri: str) -> None:
        """Commit what is pending for one bronze table, on the writer thread."""
        parts = bronze_parts.pop(uri)
        sizes = {ids[0]: len(frame) for ids, frame in parts}
        commits.append((uri, sizes, writer.submit(append_files_once, uri, parts, APP_VERSION)))

    def settle() -> None:
        while commits:
            uri, sizes, done = commits.popleft()
            written = done.result()
            tc = result.tables[Path(uri).name]
            tc.rows_appended += sum(sizes[a] for a in written)
            tc.files_committed += len(written)

    def flush() -> None:
        nonlocal held
        for uri in sorted(bronze_parts):
            commit(uri)
        settle()
        if q_parts:
            sizes = {ids[0]: len(frame) for ids, frame in q_parts}
            written = append_files_once(q_uri, q_parts, APP_VERSION)
            tc = result.tables.setdefault(QUARANTINE_TABLE, TableCounts(QUARANTINE_TABLE))
            tc.rows_appended += sum(sizes[a] for a in written)
            tc.files_committed += len(written)
            q_parts.clear()
        tables.clear()  # committed tables are read again when next needed
        held = 0

    for f in files:
        counts_of[f.identity] = FileCounts(f.relpath, f.channel, f.entity)
        result.files.append(counts_of[f.identity])
    plan: list[tuple[list[Entity], list[LandingFile]]] = []
    for group in _groups(files):  # what is already in every table it feeds is skipped
        ents = entities_of(group[0])
        todo = []
        for f in group:
            targets = [bronze_uri(home, e.channel, e.name) for e in ents] + [q_uri]
            if all((dt := table(u)) is not None and committed(dt, f.app_id, APP_VERSION)
                   for u in targets):
                counts_of[f.identity].skipped = True
            else:
                todo.append(f)
        if todo:
            plan.append((ents, todo))
    plan.sort(key=lambda step: -sum(f.size for f in step[1]))  # biggest first: both workers
    # stay busy to the end instead of one finishing a big group alone
    if any(ents and ents[0].channel == "pos" for ents, _ in plan):
        zones = location_timezones(home)
    work = partial(_group_work, home=home, now=now, max_skew=max_skew, zones=zones,
                   batch_id=batch_id, ingested_at=ingested_at)
    # Groups are parsed and validated on a small thread pool (polars, Arrow and hashing run
    # outside the GIL); results are taken in plan order. A bronze table is committed (on the
    # writer thread) as soon as its last group is in, the quarantine once all are: tables and
    # commits are the same as one thread would make them.
    left: dict[str, int] = defaultdict(int)  # groups still to come per bronze table
    for ents, _ in plan:
        for e in ents:
            left[bronze_uri(home, e.channel, e.name)] += 1
    pool = ThreadPoolExecutor(max(1, WORKERS)) if WORKERS > 1 and len(plan) > 1 else None
    pending: deque = deque()
    steps = iter(plan)
    try:
        while True:
            while len(pending) < max(1, WORKERS) and (step := next(steps, None)) is not None:
                pending.append((step, pool.submit(work, *step) if pool else None))
            if not pending:
                break
            step, head = pending.popleft()
            out = head.result() if head is not None else work(*step)
            for uri, parts in out.bronze:
                bronze_parts[uri] += parts
            q_parts.extend(out.quarantine)
            for _, part in out.quarantine:
                for kind, n in part.group_by("error_kind").len().iter_rows():
                    result.quarantined_by_kind[kind] = result.quarantined_by_kind.get(kind, 0) + n
            held += out.held
            for identity, (read, good, bad) in out.files.items():
                counts = counts_of[identity]
                counts.rows_read += read
                counts.rows_bronze += good
                counts.rows_quarantined += bad
                assert counts.rows_read == counts.rows_bronze + counts.rows_quarantined
            for name, (read, good, bad) in out.tables.items():
                tc = result.tables.setdefault(name, TableCounts(name))
                tc.rows_read += read
                tc.rows_bronze += good
                tc.rows_quarantined += bad
            del out
            for e in step[0]:
                uri = bronze_uri(home, e.channel, e.name)
                left[uri] -= 1
                if not left[uri] and uri in bronze_parts:
                    commit(uri)
            if held > FLUSH_BYTES:
                flush()
        flush()
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True, cancel_futures=True)
    assert result.rows_read == result.rows_bronze + result.rows_quarantined
    # rows that waited for reference data this batch may have brought (a store's time zone)
    for name, n in release_waiting(home, batch_id, now=now, max_skew=max_skew,
                                   ingested_at=ingested_at).items():
        tc = result.tables.setdefault(name, TableCounts(name))
        tc.rows_appended += n
        tc.rows_released += n
    return result
