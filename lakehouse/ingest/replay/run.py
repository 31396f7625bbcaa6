"""The quarantine, listed and replayed (DESIGN.md rule 7: pending, not dead).

``summary`` / ``rows``: what ``H/lake/quarantine/rows`` holds, by status, kind, channel, entity
and file. Raw payloads are never shown (they carry e-mails and phones), and reasons about a PII
field have the value hidden.

``replay`` works on a selection (``Selection``: kinds, channels, a file, statuses):

- rows *pending* in silver (a product, store, supplier or order not known yet) get a release
  pass: ``build_silver`` for a fresh batch ``replay-<UTC time>-<hash>`` that has no bronze rows
  of its own. Every silver build retries every pending row, so this only makes the next retry
  happen now; the pass releases every pending row whose reference has landed, selected or not.
- *dead* rows, and rows pending before bronze (a till's local time at a store no store list
  named: ``BRONZE_RETRYABLE``; ingestion releases those from their landing file, replay from
  the raw text when the file is gone), are judged again by the channel's current contract and
  reference data, with the code that ingests landing files (``ingest_files``): each original
  delivery is rebuilt in a scratch home as a file holding only the selected rows, each at its
  original line (record), and ingested against the original ingest clock (a timestamp in the
  future then is in the future still). Rows that now pass are appended to bronze as the
  release of batch ``replay-...``, as ingestion releases rows: their original ``_source_file``,
  ``_line``, ``_batch_id`` and ``_delivered_at``, with ``_released_by`` = the replay batch;
  exactly once (a ``Transaction`` per delivery and set of lines, and a look for rows a release
  already appended before it could record them). Silver is built for that batch, and their
  quarantine rows are marked ``released_by`` / ``released_at``. Rows that still fail stay,
  and the report says why, in today's words.

Not replayed: rows of a file no entity matched, a file that could not be read at all, and
bytes that were not UTF-8 (the raw text kept is not the bytes delivered); and a row whose file
was delivered again later (the later delivery is in bronze: replaying the old line would
ingest one record twice). Those need a new delivery.

The gates are the caller's (``lakehouse`` does not import ``data_quality``): ``gate(tables)``
validates every commit since each table's pin, records the outcome all or nothing, and raises
when one fails; it is called before silver reads what replay appended, and after.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pyarrow as pa
from deltalake import DeltaTable, Field
from deltalake.schema import PrimitiveType

from lakehouse.channels.spec import CHANNELS, PII_FIELDS, Entity, entity, entity_for_file
from lakehouse.home import Home
from lakehouse.ingest.bronze import entities_of, ingest_files
from lakehouse.ingest.landing import LandingFile
from lakehouse.ingest.parse import DOCUMENT_ARRAYS
from lakehouse.ingest.quarantine import (
    BRONZE_RETRYABLE,
    ERROR_KINDS,
    KEY,
    SCHEMA,
    status_expr,
)
from lakehouse.storage.delta import append_files_once, to_arrow
from lakehouse.storage.faults import fault
from lakehouse.storage.paths import bronze_table_name, bronze_uri, quarantine_uri

STATUSES = ("pending", "dead", "released")
BATCH_PREFIX = "replay-"
RELEASED = "_released_by"  # bronze and silver: the batch that released a quarantined row
APP_PREFIX = "lakehouse.replay/"
APP_VERSION = 1
QUARANTINE = "quarantine/rows"
# kinds whose raw text cannot be judged again: the file as a whole was refused, or the raw
# text is not what was delivered (undecodable bytes are kept escaped)
NOT_REPLAYABLE = {
    "unknown_file": "the file name matches no entity: rename and deliver it again",
    "unreadable_file": "the file as a whole could not be read: deliver it again",
    "encoding_error": "the bytes were not UTF-8 (the raw text kept is escaped): deliver the "
                      "file again",
}
# a row's identity in the quarantine: a bronze row, the batch and the kind that put it there
IDENTITY = (*KEY, "_batch_id", "error_kind")

Gate = Callable[[Sequence[str]], None]


# ---------------------------------------------------------------------------------- reading
def scan_quarantine(home: Home | str | Path, *, raw: bool = False) -> pl.LazyFrame:
    """Every quarantine row with its ``status`` (``pending``, ``dead``, ``released``). Columns a
    table written before them lacks (``released_by``, ``released_at``) read as null; ``raw`` is
    read only when asked for."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    uri = quarantine_uri(home)
    wanted = {n: t for n, t in SCHEMA.items() if raw or n != "raw"}
    files: list[str] = []
    have = wanted
    if DeltaTable.is_deltatable(uri):
        dt = DeltaTable(uri)
        present = {f.name for f in dt.schema().fields}
        files = [u.removeprefix("file://") for u in dt.file_uris()]
        have = {n: t for n, t in wanted.items() if n in present}
    if files:
        scan = pl.scan_parquet(files, schema=have, missing_columns="insert",
                               extra_columns="ignore", hive_partitioning=False)
    else:
        scan = pl.LazyFrame(schema=have)
    return scan.with_columns(
        *(pl.lit(None, t).alias(n) for n, t in wanted.items() if n not in have)
    ).select(list(wanted)).with_columns(status_expr())


def read_quarantine(home: Home | str | Path, *, raw: bool = False) -> pl.DataFrame:
    return scan_quarantine(home, raw=raw).collect()


@dataclass(frozen=True)
class Selection:
    """Which quarantine rows: kinds, channels (empty: any), a file (substring of
    ``_source_file``) and statuses (default: every row not released, pending and dead)."""

    kinds: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    file: str | None = None
    statuses: tuple[str, ...] = ("pending", "dead")

    @classmethod
    def of(cls, kinds: Iterable[str] | None = None, channels: Iterable[str] | None = None,
           file: str | None = None, status: str | None = None) -> Selection:
        """From command-line style filters: ``status`` one of pending, dead, released, all, or
        None (pending and dead)."""
        if status in (None, ""):
            statuses: tuple[str, ...] = ("pending", "dead")
        elif status == "all":
            statuses = STATUSES
        elif status in STATUSES:
            statuses = (status,)
        else:
            raise ValueError(f"status {status!r}: expected one of {', '.join(STATUSES)}, all")
        kinds, channels = tuple(kinds or ()), tuple(channels or ())
        if unknown := sorted(set(kinds) - set(ERROR_KINDS)):
            raise ValueError(f"unknown error kind(s) {', '.join(unknown)}; known: "
                             f"{', '.join(ERROR_KINDS)}")
        names = [ch.name for ch in CHANNELS]
        if unknown := sorted(set(channels) - set(names)):
            raise ValueError(f"unknown channel(s) {', '.join(unknown)}; known: "
                             f"{', '.join(names)}")
        return cls(kinds, channels, file or None, statuses)

    def expr(self) -> pl.Expr:
        cond = pl.col("status").is_in(list(self.statuses))
        if self.kinds:
            cond &= pl.col("error_kind").is_in(list(self.kinds))
        if self.channels:
            cond &= pl.col("_source_channel").is_in(list(self.channels))
        if self.file:
            cond &= pl.col("_source_file").str.contains(self.file, literal=True)
        return cond

    def describe(self) -> str:
        parts = [f"status {'+'.join(self.statuses)}"]
        if self.kinds:
            parts.append(f"kind {','.join(self.kinds)}")
        if self.channels:
            parts.append(f"channel {','.join(self.channels)}")
        if self.file:
            parts.append(f"file ~ {self.file!r}")
        return ", ".join(parts)


def select(frame: pl.DataFrame, selection: Selection) -> pl.DataFrame:
    return frame.filter(selection.expr())


SUMMARY_BY = ("status", "error_kind", "_source_channel", "_entity", "_source_file")


def summary(frame: pl.DataFrame) -> pl.DataFrame:
    """Row counts by status (pending, dead, released), kind, channel, entity and file (largest
    groups first)."""
    order = pl.col("status").replace_strict(
        {s: i for i, s in enumerate(STATUSES)}, default=len(STATUSES), return_dtype=pl.Int8)
    return (frame.group_by(list(SUMMARY_BY)).agg(pl.len().alias("rows"))
            .sort([order, pl.col("rows"), "error_kind", "_source_channel", "_source_file"],
                  descending=[False, True, False, False, False], nulls_last=True))


_VALUE = re.compile(r"(?P<lead>\bis |`[^`]*` is )(?P<value>.*?)(?P<tail>, expected|, not |, out "
                    r"of |, below |, above |$)")


def redacted(reason: str | None, field_name: str | None) -> str | None:
    """The reason, with the offending value hidden when the field holds personal data."""
    if reason is None or field_name is None:
        return reason
    leaf = field_name.rsplit(".", 1)[-1].split("[", 1)[0]
    if leaf not in PII_FIELDS:
        return reason
    return _VALUE.sub(lambda m: f"{m['lead']}<hidden: personal data>{m['tail']}", reason)


def rows(frame: pl.DataFrame, limit: int) -> pl.DataFrame:
    """Up to ``limit`` rows to act on: where (file, line, field), what and why; no payload."""
    return (frame.sort("status", "error_kind", "_source_file", "_line", nulls_last=True)
            .head(limit)
            .select("status", pl.col("error_kind").alias("kind"),
                    pl.col("_source_file").alias("file"), pl.col("_line").alias("line"),
                    "field",
                    pl.struct("reason", "field").map_elements(
                        lambda s: redacted(s["reason"], s["field"]), return_dtype=pl.String)
                    .alias("reason")))


def text_table(frame: pl.DataFrame, max_width: int = 160) -> str:
    """A frame as an aligned plain-text table (long cells cut), for the terminal."""
    if frame.is_empty():
        return "(none)"
    cells = [[("" if v is None else str(v)) for v in row] for row in frame.iter_rows()]
    cells = [[c if len(c) <= max_width else c[:max_width - 3] + "..." for c in row]
             for row in cells]
    header = [c.removeprefix("_") for c in frame.columns]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    numeric = [frame.schema[c].is_numeric() for c in frame.columns]

    def line(values: list[str]) -> str:
        return "  ".join(v.rjust(w) if n else v.ljust(w)
                         for v, w, n in zip(values, widths, numeric, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, cells)])


# ---------------------------------------------------------------------------------- replay
@dataclass
class ReplayReport:
    """What a replay did with the rows it selected (frames hold identities, kinds, reasons)."""

    batch_id: str
    selection: Selection
    selected: int = 0  # rows selected, not released before
    already_released: int = 0  # selected rows released before this replay (left alone)
    # pending rows: released by this replay's silver pass, or still waiting (kind, reason)
    released: pl.DataFrame = field(default_factory=pl.DataFrame)
    waiting: pl.DataFrame = field(default_factory=pl.DataFrame)
    released_unselected: int = 0  # pending rows outside the selection the same pass released
    # dead rows: now in bronze (and those silver holds back as pending), still failing
    # (with the current reason), or not replayable (why)
    replayed: pl.DataFrame = field(default_factory=pl.DataFrame)
    now_pending: pl.DataFrame = field(default_factory=pl.DataFrame)
    failing: pl.DataFrame = field(default_factory=pl.DataFrame)
    skipped: pl.DataFrame = field(default_factory=pl.DataFrame)
    bronze_appended: dict[str, int] = field(default_factory=dict)  # bronze table -> rows
    recovered_batches: list[str] = field(default_factory=list)  # interrupted replays finished
    silver: dict = field(default_factory=dict)  # SilverResult.metadata() per batch built

    def counts(self) -> pl.DataFrame:
        """Rows per outcome, kind and channel."""
        parts = [frame.select(pl.lit(outcome).alias("outcome"), "error_kind",
                              "_source_channel")
                 for outcome, frame in (("released", self.released),
                                        ("waiting", self.waiting),
                                        ("replayed", self.replayed),
                                        ("still_failing", self.failing),
                                        ("not_replayable", self.skipped))
                 if not frame.is_empty()]
        if not parts:
            return pl.DataFrame(schema={"outcome": pl.String, "error_kind": pl.String,
                                        "_source_channel": pl.String, "rows": pl.UInt32})
        return (pl.concat(parts).group_by("outcome", "error_kind", "_source_channel")
                .agg(pl.len().alias("rows"))
                .sort("outcome", "rows", "error_kind", descending=[False, True, False]))

    def metadata(self) -> dict:
        counts = self.counts()

        def per(outcome: str) -> dict[str, int]:
            mine = counts.filter(pl.col("outcome") == outcome)
            return {f"{k}/{c}": n for k, c, n in
                    mine.select("error_kind", "_source_channel", "rows").iter_rows()}

        return {
            "batch_id": self.batch_id, "selection": self.selection.describe(),
            "selected": self.selected, "already_released": self.already_released,
            "released": self.released.height, "waiting": self.waiting.height,
            "released_outside_selection": self.released_unselected,
            "dead_replayed": self.replayed.height, "dead_now_pending": self.now_pending.height,
            "dead_still_failing": self.failing.height, "not_replayable": self.skipped.height,
            "released_by_kind_channel": per("released"),
            "waiting_by_kind_channel": per("waiting"),
            "replayed_by_kind_channel": per("replayed"),
            "still_failing_by_kind_channel": per("still_failing"),
            "bronze_appended": dict(self.bronze_appended),
            "recovered_batches": list(self.recovered_batches),
        }

    def describe(self, limit: int = 0) -> str:
        """The report for a person: counts, and why rows still wait or fail."""
        out = [f"replay {self.batch_id} ({self.selection.describe()}): {self.selected} row(s) "
               "selected" + (f", {self.already_released} released earlier (left alone)"
                             if self.already_released else "")]
        if self.selected == 0:
            out.append("nothing to replay")
            return "\n".join(out)
        out.append(f"pending: {self.released.height} released, {self.waiting.height} still "
                   "waiting" + (f" ({self.released_unselected} other pending row(s) released "
                                "by the same pass)" if self.released_unselected else ""))
        out.append(f"dead: {self.replayed.height} now pass the contract and went to bronze"
                   + (f" ({self.now_pending.height} of them wait in the quarantine as pending)"
                      if self.now_pending.height else "")
                   + f", {self.failing.height} still fail, {self.skipped.height} cannot be "
                   "replayed")
        if self.bronze_appended:
            out.append("bronze appended: " + ", ".join(
                f"{t} +{n}" for t, n in sorted(self.bronze_appended.items())))
        if self.recovered_batches:
            out.append("finished interrupted replays: " + ", ".join(self.recovered_batches))
        counts = self.counts()
        if not counts.is_empty():
            out += ["", text_table(counts)]
        for title, frame in (("still waiting", self.waiting),
                             ("replayed, now pending", self.now_pending),
                             ("still failing", self.failing),
                             ("not replayable", self.skipped)):
            if frame.is_empty():
                continue
            why = (frame.group_by("error_kind", "_source_channel")
                   .agg(pl.len().alias("rows"),
                        pl.struct("reason", "field").first().alias("_r"))
                   .sort("rows", descending=True)
                   .with_columns(pl.col("_r").map_elements(
                       lambda s: redacted(s["reason"], s["field"]), return_dtype=pl.String)
                       .alias("example_reason")).drop("_r"))
            out += ["", f"{title}:", text_table(why)]
            if limit:
                out.append(text_table(rows(frame.with_columns(
                    pl.lit(title).alias("status")), limit).drop("status")))
        return "\n".join(out)


def new_batch_id(now: datetime, identities: pl.DataFrame) -> str:
    """``replay-<UTC time>-<hash of the selected rows>``: under 32 characters, so Delta's
    per-file statistics hold it whole."""
    digest = hashlib.sha256(now.isoformat().encode())
    for row in identities.select(list(IDENTITY)).sort(list(IDENTITY)).iter_rows():
        digest.update(repr(row).encode())
    return f"{BATCH_PREFIX}{now.astimezone(UTC):%Y%m%dT%H%M%SZ}-{digest.hexdigest()[:6]}"


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


def _triage(home: Home, dead: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
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


# what bronze ingestion tolerates of a clock ahead of the ingest clock (the pipeline ingests
# with ``ingest_files``' default; read from it so the two cannot drift apart)
MAX_SKEW: timedelta = inspect.signature(ingest_files).parameters["max_skew"].default
_CLOCKED = {"ts_iso", "ts_local", "epoch_ms", "epoch_s"}  # field types checked against it
_EXTRA = ("_origin", "_own_clock")
# how a future_timestamp reason names the ingest clock (``validate._future``)
_CLOCK_WORDS = "after the ingest time "
_CLOCK_IN_REASON = _CLOCK_WORDS + r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


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


def _judge(home: Home, todo: pl.DataFrame, batch_id: str, now: datetime
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
    schema = {**{k: SCHEMA[k] for k in keys}, "kind_now": pl.String, "field_now": pl.String,
              "reason_now": pl.String}
    failing = [b for b in bads if b.height]
    return passed, pl.concat(failing) if failing else pl.DataFrame(schema=schema)


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


def mark_replayed(home: Home, identities: pl.DataFrame, at: datetime) -> None:
    """Record in the quarantine which batch released these rows (``released_by`` per row),
    only where no release is recorded yet: marking again changes nothing. Matched on the whole
    identity (key, batch, kind), not the key alone (``quarantine.mark_released``): a replayed
    line that silver holds back is a new pending row of the same key, left waiting."""
    if identities.is_empty():
        return
    uri = quarantine_uri(home)
    dt = DeltaTable(uri)
    have = {f.name for f in dt.schema().fields}
    new = [Field(n, t, nullable=True) for n, t in (("released_by", PrimitiveType("string")),
                                                   ("released_at", PrimitiveType("timestamp")))
           if n not in have]
    if new:
        dt.alter.add_columns(new)
    source = identities.select(
        *(pl.col(c).cast(SCHEMA[c]) for c in IDENTITY), pl.col("released_by").cast(pl.String),
        pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("released_at")).unique()
    on = " AND ".join(f"t.{c} = s.{c}" for c in IDENTITY)
    fault("quarantine.replayed.before", uri)
    (dt.merge(to_arrow(source), predicate=on, source_alias="s", target_alias="t")
     .when_matched_update({"released_by": "s.released_by", "released_at": "s.released_at"},
                          predicate="t.released_by IS NULL")
     .execute())
    fault("quarantine.replayed.after", uri)


def _silver_tables(home: Home) -> list[str]:
    return [f"silver/{p.name}" for p in sorted(home.silver.glob("*"))
            if DeltaTable.is_deltatable(str(p))]


def replay(home: Home | str | Path, selection: Selection, *, gate: Gate,
           batch_id: str | None = None, now: datetime | None = None,
           build: Callable[..., object] | None = None) -> ReplayReport:
    """Replay the selected quarantine rows (see the module doc); safe to run again: what was
    released stays released and nothing reaches bronze twice. ``gate`` validates tables (see
    ``Gate``); ``build`` is ``lakehouse.silver.build_silver`` unless given."""
    home = home if isinstance(home, Home) else Home.resolve(home)
    if build is None:
        from lakehouse.silver import build_silver as build
    now = (now or datetime.now(UTC)).astimezone(UTC)
    chosen = scan_quarantine(home, raw=True).filter(selection.expr()).collect()
    open_rows = chosen.filter(pl.col("status") != "released")
    batch_id = batch_id or new_batch_id(now, open_rows)
    report = ReplayReport(batch_id, selection, selected=open_rows.height,
                          already_released=chosen.height - open_rows.height)
    pending = open_rows.filter(pl.col("status") == "pending")
    dead = open_rows.filter(pl.col("status") == "dead")
    # judged again from their raw text: dead rows, and rows that wait before bronze (a till's
    # local time whose store had no time zone yet: the store lists landed since decide)
    judged = pl.concat([dead, pending.filter(pl.col("error_kind").is_in(
        sorted(BRONZE_RETRYABLE)))])
    todo, recovered, skipped = _triage(home, judged)
    passed, failing = _judge(home, todo, batch_id, now) if not todo.is_empty() else ({}, None)

    # exactly once into bronze: an application transaction per delivery and set of lines
    appended: list[str] = []
    for (channel, name), parts in sorted(passed.items()):
        uri = bronze_uri(home, channel, name)
        written = set(append_files_once(uri, [([a], f) for a, f in parts], APP_VERSION))
        rows_written = sum(f.height for a, f in parts if a in written)
        if rows_written:
            report.bronze_appended[bronze_table_name(channel, name)] = rows_written
        appended.append(f"bronze/{bronze_table_name(channel, name)}")
    keys, ids = list(KEY), list(IDENTITY)
    passed_keys = pl.concat(
        [f.select(pl.lit(c).alias("_source_channel"), pl.lit(n).alias("_entity"),
                  "_source_file", "_line") for (c, n), parts in passed.items()
         for _, f in parts], how="vertical_relaxed") if passed else None
    replayed = (todo.join(passed_keys, on=keys, how="semi") if passed_keys is not None
                else todo.clear())
    report.recovered_batches = sorted(recovered["_in_batch"].unique().to_list())
    batches = [*report.recovered_batches]
    if not replayed.is_empty() or not pending.is_empty():
        batches.append(batch_id)
    if batches:
        if appended or report.recovered_batches:
            gate(sorted({*appended, QUARANTINE}))  # silver reads bronze at its pins
        for b in batches:
            result = build(home, b, identity=True)
            report.silver[b] = result.metadata() if hasattr(result, "metadata") else {}
        mark_replayed(home, pl.concat([
            replayed.select(*IDENTITY, pl.lit(batch_id).alias("released_by")),
            recovered.select(*IDENTITY, pl.col("_in_batch").alias("released_by"))]), now)
        gate([*_silver_tables(home), QUARANTINE])

    # what became of the selected rows
    after = read_quarantine(home)
    state = after.select(*IDENTITY, pl.col("released_by").alias("_by"))
    now_failing = (failing if failing is not None else pl.DataFrame(schema={
        **{k: SCHEMA[k] for k in keys}, "kind_now": pl.String, "field_now": pl.String,
        "reason_now": pl.String}))
    pending = pending.join(state, on=ids, how="left")
    report.released = pending.filter(pl.col("_by").is_not_null()).drop("_by")
    # a row judged again that still waits: the reason it fails now
    report.waiting = pending.filter(pl.col("_by").is_null()).drop("_by").join(
        now_failing, on=keys, how="left").with_columns(
        pl.coalesce("field_now", "field").alias("field"),
        pl.coalesce("reason_now", "reason").alias("reason")).drop(
        "kind_now", "field_now", "reason_now")
    through = pl.concat([replayed, recovered.drop("_in_batch")])
    report.replayed = through.join(dead.select(ids), on=ids, how="semi")
    ours = [batch_id, *report.recovered_batches]
    newly = after.filter(pl.col("released_by").is_in(ours))
    report.released_unselected = newly.join(pending.select(ids), on=ids, how="anti").join(
        judged.select(ids), on=ids, how="anti").height
    # rows released into bronze that silver holds back: pending rows of the same lines
    report.now_pending = after.filter(
        (pl.col("status") == "pending") & ~pl.col("error_kind").is_in(sorted(BRONZE_RETRYABLE))
    ).join(through.select(keys), on=keys, how="semi")
    report.failing = todo.join(dead.select(ids), on=ids, how="semi").join(
        now_failing, on=keys, how="inner").with_columns(
        pl.col("kind_now").alias("error_kind"), pl.col("field_now").alias("field"),
        pl.col("reason_now").alias("reason")).drop("kind_now", "field_now", "reason_now")
    report.skipped = skipped.with_columns(pl.col("why").alias("reason")).drop("why")
    return report
