"""Ingest a batch of landing files: parse -> validate -> bronze tables + quarantine, once.

Exactly once per file and table: every file's rows (possibly none) are committed to each table
it feeds together with ``Transaction(file.app_id, 1)``; ``append_files_once`` checks those ids
on the snapshot it writes through, so a re-run, a re-delivery or a retry after a crash writes
only what is missing. Each table is one commit per batch, unless the frames held pass
``FLUSH_BYTES``: then what is pending is committed early, so memory stays bounded. Files of one
entity are parsed one by one but validated in one pass (per ``GROUP_BYTES`` group), which keeps
the per-file cost of a micro-batch of many small files low. There are no side files.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable

from lakehouse.channels.spec import Entity, entity
from lakehouse.home import Home
from lakehouse.ingest import quarantine
from lakehouse.ingest.landing import LandingFile, location_timezones
from lakehouse.ingest.parse import (
    EXTRA,
    LINE,
    RAW,
    Parsed,
    error_frame,
    fast_ok,
    is_native,
    parse_csv,
    parse_document,
    parse_jsonl,
    raw_lookup,
)
from lakehouse.ingest.parse import (
    _empty_records as parse_empty,
)
from lakehouse.ingest.validate import FILE, Context, bronze_dtype, validate
from lakehouse.storage.delta import append_files_once, committed, to_arrow
from lakehouse.storage.paths import bronze_table_name, bronze_uri, quarantine_uri

QUARANTINE_TABLE = "quarantine/rows"
APP_VERSION = 1
LINEAGE = ("_source_file", "_line", "_batch_id", "_ingested_at", "_extra")


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


@dataclass
class IngestResult:
    batch_id: str
    files: list[FileCounts] = field(default_factory=list)
    tables: dict[str, TableCounts] = field(default_factory=dict)

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
        }


def entities_of(f: LandingFile) -> list[Entity]:
    """The bronze entities a file feeds (a locations file feeds two)."""
    if f.entity is None:
        return []
    if (f.channel, f.entity) == ("locations", "locations"):
        return [entity("locations", "locations"), entity("locations", "shipping_rates")]
    return [entity(f.channel, f.entity)]


def parse_file(f: LandingFile, data: bytes, *, optimistic: bool = True) -> dict[str, Parsed]:
    """entity name -> parsed records of one file, by the entity's format."""
    ents = entities_of(f)
    fmt = ents[0].format
    if fmt == "jsonl":
        return {ents[0].name: parse_jsonl(ents[0], data, f.relpath, optimistic=optimistic)}
    if fmt == "csv":
        return {ents[0].name: parse_csv(ents[0], data, f.relpath)}
    return parse_document(ents, data, f.relpath)


def bronze_frame(ent: Entity, good: pl.DataFrame, present: set[str], *, source: str,
                 batch_id: str, ingested_at: datetime) -> pl.DataFrame:
    """Typed spec columns (added fields only once they appear) + lineage columns."""
    cols = [f for f in ent.fields] + [f for f in ent.added_fields if f.name in present]
    return good.select(
        *[pl.col(f.name).cast(bronze_dtype(f)) for f in cols],
        pl.lit(source, pl.String).alias("_source_file"),
        pl.col(LINE).cast(pl.Int64).alias("_line"),
        pl.lit(batch_id, pl.String).alias("_batch_id"),
        pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
        pl.col(EXTRA).cast(pl.String).alias("_extra"),
    )


def _open(uri: str) -> DeltaTable | None:
    return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None


GROUP_BYTES = 256 << 20  # files of one entity are parsed and validated together up to this
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


def _validate_group(ent: Entity, parsed: list[Parsed], sources: tuple[str, ...], now: datetime,
                    max_skew: timedelta, zones: dict[str, str] | None):
    """Validate one entity's records of several files in one pass per record form.

    Returns per-file (good, bad) frames, in the order of ``parsed``.
    """
    ctx = Context(sources[0], now, max_skew, zones,
                  "record" if ent.format == "json" else "line", sources)
    native: list[pl.DataFrame] = []
    text: list[pl.DataFrame] = []
    for i, p in enumerate(parsed):
        for part in p.parts:
            if part.height:
                tagged = part.with_columns(pl.lit(i, pl.Int32).alias(FILE))
                (native if is_native(part) else text).append(tagged)
    goods: list[list[pl.DataFrame | None]] = []  # per record form, per file (zero-copy slices)
    bads = []
    for frames in (native, text):
        if not frames:
            continue
        good, bad = validate(ent, pl.concat(frames, how="vertical_relaxed"), ctx)
        goods.append(_per_file(good, len(parsed)))  # rows keep file order: slices suffice
        bads.append(bad)
    bad = pl.concat(bads, how="vertical_relaxed") if bads else None
    bad_parts = bad.partition_by(FILE, as_dict=True) if bad is not None and bad.height else {}
    out = []
    for i, p in enumerate(parsed):
        pieces = [form[i] for form in goods if form[i] is not None]
        g = (None if not pieces else pieces[0] if len(pieces) == 1
             else pl.concat(pieces, how="diagonal_relaxed").sort(LINE))
        b = bad_parts.get((i,))
        if b is not None:
            b = b.drop(FILE)
            missing = b.filter(pl.col(RAW).is_null())
            if missing.height and p.raw_of is not None:
                raws = dict(zip(missing[LINE].to_list(), p.raw_of(missing[LINE].to_list()),
                                strict=True))
                b = b.with_columns(pl.col(RAW).fill_null(pl.col(LINE).replace_strict(
                    raws, default=None, return_dtype=pl.String)))
        bad_all = pl.concat([p.errors, b]) if b is not None else p.errors
        out.append((g, bad_all.sort(LINE)))
    return out


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
                                                    batch_id=batch_id, ingested_at=ingested_at)))
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
                                     source=f.relpath, batch_id=batch_id, ingested_at=ingested_at)
    return frame, bad


def _reread(f: LandingFile):
    def raw_of(numbers: list[int]) -> list[str]:
        return raw_lookup(f.path.read_bytes())(numbers)

    return raw_of


def _per_file(good: pl.DataFrame, n: int) -> list[pl.DataFrame | None]:
    """Rows of each file (``_file`` ascending, as validation keeps row order), as slices."""
    sizes = [0] * n
    if good.height:
        for i, c in good[FILE].value_counts().iter_rows():
            sizes[i] = c
    out: list[pl.DataFrame | None] = []
    offset = 0
    for size in sizes:
        out.append(good.slice(offset, size).drop(FILE) if size else None)
        offset += size
    return out


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

    def flush() -> None:
        nonlocal held
        for uri in sorted(bronze_parts):
            parts = bronze_parts.pop(uri)
            sizes = {ids[0]: len(frame) for ids, frame in parts}
            written = append_files_once(uri, parts, APP_VERSION)
            tc = result.tables[Path(uri).name]
            tc.rows_appended += sum(sizes[a] for a in written)
            tc.files_committed += len(written)
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
    for group in _groups(files):
        todo: list[tuple[LandingFile, dict[str, Parsed] | None]] = []
        ents = entities_of(group[0])
        optimistic = True
        for f in group:
            targets = [bronze_uri(home, e.channel, e.name) for e in ents] + [q_uri]
            if all((dt := table(u)) is not None and committed(dt, f.app_id, APP_VERSION)
                   for u in targets):
                counts_of[f.identity].skipped = True
                continue
            if len(ents) == 1 and ents[0].format == "jsonl" and fast_ok(ents[0]) and (
                    f.size > STREAM_BYTES):
                frame, bad = _stream(f, ents[0], counts_of[f.identity], result, now=now,
                                     max_skew=max_skew, batch_id=batch_id,
                                     ingested_at=ingested_at)
                bronze_parts[bronze_uri(home, ents[0].channel, ents[0].name)].append(
                    ([f.app_id], frame))
                q_parts.append(([f.app_id], bad))
                held += frame.nbytes
                continue
            data = f.path.read_bytes()
            if hashlib.sha256(data).hexdigest() != f.sha256:
                raise RuntimeError(f"landing/{f.relpath} changed after discovery; discover again")
            if not ents:
                errors = error_frame([(1, data[:65536].decode("utf-8", errors="replace"),
                                       "unknown_file", None,
                                       f"landing/{f.relpath}: file name matches no entity of "
                                       f"channel {f.channel!r} in the channel spec; nothing was "
                                       "loaded")])
                q_parts.append(([f.app_id], quarantine.quarantine_rows(
                    errors, channel=f.channel, entity=None, source=f.relpath,
                    batch_id=batch_id, ingested_at=ingested_at)))
                counts = counts_of[f.identity]
                counts.rows_read = counts.rows_quarantined = 1
                continue
            if ents[0].channel == "pos" and zones is None:
                zones = location_timezones(home)
            parsed = parse_file(f, data, optimistic=optimistic)
            optimistic = not any(p.refused for p in parsed.values())  # the next file alike
            del data
            for p in parsed.values():  # keep no file bytes: raw text of a bad row is re-read
                if p.raw_of is not None:
                    p.raw_of = _reread(f)
            todo.append((f, parsed))
        if not todo:
            continue
        q_frames: dict[str, list[pl.DataFrame]] = defaultdict(list)
        sources = tuple(f.relpath for f, _ in todo)
        for ent in ents:
            parsed = [p[ent.name] for _, p in todo]
            checked = _validate_group(ent, parsed, sources, now, max_skew, zones)
            uri = bronze_uri(home, ent.channel, ent.name)
            name = bronze_table_name(ent.channel, ent.name)
            tc = result.tables.setdefault(name, TableCounts(name))
            for (f, _), p, (good, bad) in zip(todo, parsed, checked, strict=True):
                n_good = good.height if good is not None else 0
                if not (p.rows == n_good + bad.height):
                    raise AssertionError(f"{f.relpath}: {p.rows} read != {n_good} + {bad.height}")
                if good is None:
                    good = validate(ent, parse_empty(ent), Context(f.relpath, now))[0]
                frame = to_arrow(bronze_frame(ent, good, p.present, source=f.relpath,
                                              batch_id=batch_id, ingested_at=ingested_at))
                del good  # Arrow is more compact than polars string views: hold only Arrow
                bronze_parts[uri].append(([f.app_id], frame))
                held += frame.nbytes
                q_frames[f.identity].append(quarantine.quarantine_rows(
                    bad, channel=ent.channel, entity=ent.name, source=f.relpath,
                    batch_id=batch_id, ingested_at=ingested_at))
                tc.rows_read += p.rows
                tc.rows_bronze += n_good
                tc.rows_quarantined += bad.height
                counts = counts_of[f.identity]
                counts.rows_read += p.rows
                counts.rows_bronze += n_good
                counts.rows_quarantined += bad.height
            del checked
            for p in parsed:
                p.parts.clear()
        for f, _ in todo:
            counts = counts_of[f.identity]
            assert counts.rows_read == counts.rows_bronze + counts.rows_quarantined
            q_parts.append(([f.app_id], pl.concat(q_frames[f.identity])))
        del todo
        if held > FLUSH_BYTES:
            flush()
    flush()
    assert result.rows_read == result.rows_bronze + result.rows_quarantined
    return result
