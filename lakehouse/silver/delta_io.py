"""The thin Delta layer of silver: read one batch of bronze, read the silver rows a batch touches,
and write only the rows that change, in one commit that carries the batch's application id.

Why it is shaped like this: a micro-batch must cost what the batch costs, not what history
costs. Bronze files of a batch are found from the Delta log's per-file ``_batch_id`` min/max
statistics (no data scan); silver rows a batch might collide with are read only from the
partitions (event dates) the batch touches; and a write is a plain append unless an existing
row must change, when it is a MERGE pruned to those partitions. The application transaction
is read on the same ``DeltaTable`` object the write goes through (DESIGN.md, sharp edges).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl
import pyarrow as pa
from deltalake import (
    CommitProperties,
    DeltaTable,
    Field,
    Transaction,
    write_deltalake,
)
from deltalake.schema import PrimitiveType

from lakehouse.silver.frames import KNOWLEDGE, with_knowledge
from lakehouse.storage.delta import (
    Picked,
    committed,
    to_arrow,
    to_arrow_stream,
    writer_properties,
)
from lakehouse.storage.faults import fault
from lakehouse.storage.objects import ensure_parent, join
from lakehouse.storage.validations import pinned

APP_VERSION = 1
RELEASED = "_released_by"  # a silver row released from the quarantine: the releasing batch
_STATS_TRUNCATE = 32  # deltalake's default statistics_truncate_length


def app_id(batch_id: str) -> str:
    """Application-transaction id of one bronze batch in every silver table (and quarantine)."""
    return f"lakehouse.silver/{batch_id}"


def open_table(uri: str) -> DeltaTable | None:
    return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None


class Tables:
    """Every Delta table a run touches, each loaded once (loading replays the log, which costs
    what the table's file count costs) and kept current by the writes that go through it."""

    def __init__(self) -> None:
        self._open: dict[str, DeltaTable | None] = {}

    def get(self, uri: str) -> DeltaTable | None:
        if uri not in self._open or self._open[uri] is None:
            self._open[uri] = open_table(uri)
        return self._open[uri]

    def forget(self, uri: str) -> None:
        self._open.pop(uri, None)


class PinnedTables(Tables):
    """Tables read at their validated pins (for inputs: only checked rows are read); a table
    that exists with no validated version raises ``NotValidatedError``."""

    def get(self, uri: str) -> DeltaTable | None:
        if uri not in self._open or self._open[uri] is None:
            self._open[uri] = pinned(uri)
        return self._open[uri]


def _schema(dt: DeltaTable) -> pa.Schema:
    return pa.schema(dt.schema().to_arrow())


def _polars_schema(schema: pa.Schema) -> pl.Schema:
    """The table's schema in polars types, from a table of no batches (``Schema.empty_table``
    imports pandas: half a CPU second in a process that has no other use for it)."""
    return pl.from_arrow(pa.Table.from_batches([], schema=schema)).schema  # type: ignore[union-attr]


def add_actions(dt: DeltaTable, columns: Sequence[str]) -> pl.DataFrame:
    """The log's add actions: path plus only the requested ``min.x`` / ``max.x`` /
    ``partition.x`` fields (not statistics of every column)."""
    # read as a stream: ``pa.table(...)`` would import pandas to rule out a DataFrame
    actions = pa.RecordBatchReader.from_stream(dt.get_add_actions(flatten=False)).read_all()
    out: dict[str, pa.Array] = {"path": actions.column("path")}
    for name in columns:
        group, _, field = name.partition(".")
        if group not in actions.column_names:
            continue
        col = actions.column(group)
        if field not in {col.type.field(i).name for i in range(col.type.num_fields)}:
            continue
        kind = col.type.field(field).type
        out[name] = pa.chunked_array([c.field(field) for c in col.chunks], kind)
    frame = pl.from_arrow(pa.table(out))
    assert isinstance(frame, pl.DataFrame)
    return frame


def _files(uri: str, dt: DeltaTable, batch_id: str | Sequence[str] | None,
           ) -> tuple[list[str], bool]:
    """Data files that may hold rows of ``batch_id`` (or of any of several ids; all files for
    None), from log stats, and whether every one of them holds only that one batch (then no
    row filter is needed). A silver row released from the quarantine by the batch
    (``_released_by``) counts as the batch's."""
    actions = add_actions(dt, ["min._batch_id", "max._batch_id",
                                f"min.{RELEASED}", f"max.{RELEASED}"])
    if batch_id is None or "min._batch_id" not in actions.columns:
        return [join(uri, p) for p in actions["path"].to_list()], False
    ids = [batch_id] if isinstance(batch_id, str) else list(batch_id)

    def covers(lo: pl.Expr, hi: pl.Expr, b: str) -> pl.Expr:
        # string stats may be truncated prefixes: a prefix of the id still sorts <= it
        return (lo <= b) & (pl.lit(b).str.starts_with(hi) | (hi >= b))

    lo, hi = pl.col("min._batch_id"), pl.col("max._batch_id")
    holds = lo.is_null() | hi.is_null() | pl.any_horizontal(covers(lo, hi, b) for b in ids)
    released = pl.lit(False)
    if f"min.{RELEASED}" in actions.columns:
        rlo, rhi = pl.col(f"min.{RELEASED}"), pl.col(f"max.{RELEASED}")
        # all-null files have no statistics: they hold no released row
        released = pl.any_horizontal(covers(rlo, rhi, b) for b in ids).fill_null(False)
    actions = actions.filter(holds | released)
    pure = len(ids) == 1 and bool(actions.select(
        ((lo == ids[0]) & (hi == ids[0]) & ~released).all()).item())
    return [join(uri, p) for p in actions["path"].to_list()], pure


def _of_batch(schema: pl.Schema, batch_ids: Sequence[str]) -> pl.Expr:
    """Rows of these batches, including rows they released from the quarantine."""
    mine = pl.col("_batch_id").is_in(list(batch_ids))
    if RELEASED in schema:
        mine = mine | pl.col(RELEASED).is_in(list(batch_ids)).fill_null(False)
    return mine


def _scan(files: list[str], schema: pl.Schema) -> pl.LazyFrame:
    """Parquet files of one table as one frame in the table's schema (files written before a
    column was added lack it: it reads as null)."""
    return pl.scan_parquet(files, schema=schema, missing_columns="insert",
                           extra_columns="ignore", hive_partitioning=False, glob=False)


def read_bronze(tables: Tables, uri: str, batch_id: str | None) -> pl.DataFrame | None:
    """Rows of one bronze batch (every row for None); None when the table does not exist."""
    dt = tables.get(uri)
    if dt is None:
        return None
    schema = _polars_schema(_schema(dt))
    files, pure = _files(uri, dt, batch_id)
    if not files:
        return pl.DataFrame(schema=schema)
    scan = _scan(files, schema)
    if batch_id is not None and not pure:
        scan = scan.filter(_of_batch(schema, [batch_id]))
    return with_knowledge(scan.collect())


def batches_in(tables: Tables, uri: str) -> list[str]:
    """Every bronze batch id in a table (for a full rebuild's application transactions): from
    the log's statistics where a file holds one batch, else from the file's ``_batch_id``."""
    dt = tables.get(uri)
    if dt is None:
        return []
    actions = add_actions(dt, ["min._batch_id", "max._batch_id"])
    found: set[str] = set()
    scan = actions["path"].to_list()
    if "min._batch_id" in actions.columns:
        # statistics of long strings are truncated prefixes: trust only short, equal ones
        exact = ((pl.col("min._batch_id") == pl.col("max._batch_id"))
                 & (pl.col("min._batch_id").str.len_bytes() < _STATS_TRUNCATE))
        found = set(actions.filter(exact)["min._batch_id"].to_list())
        scan = actions.filter(~exact.fill_null(False))["path"].to_list()
    if scan:
        schema = _polars_schema(_schema(dt))
        ids = _scan([join(uri, p) for p in scan], schema).select("_batch_id").unique()
        found |= set(ids.collect()["_batch_id"].drop_nulls().to_list())
    return sorted(found)


def read_batches(tables: Tables, uri: str, batch_ids: Sequence[str]) -> pl.DataFrame | None:
    """Rows of several batches in one scan, with the rows they released (None when the table
    does not exist)."""
    dt = tables.get(uri)
    if dt is None:
        return None
    schema = _polars_schema(_schema(dt))
    files, _ = _files(uri, dt, batch_ids) if batch_ids else ([], False)
    if not files:
        return with_knowledge(pl.DataFrame(schema=schema))
    return with_knowledge(
        _scan(files, schema).filter(_of_batch(schema, batch_ids)).collect())


@dataclass(frozen=True)
class Layout:
    """How a silver table is keyed and partitioned."""

    key: tuple[str, ...]
    partition: str | None = None  # a Date column, or None for small / key-addressed tables


def _literal(v: object) -> str:
    if isinstance(v, date):
        return f"'{v.isoformat()}'"
    return "'" + str(v).replace("'", "''") + "'"


def read_existing(uri: str, dt: DeltaTable, layout: Layout,
                  rows: pl.DataFrame) -> pl.DataFrame:
    """Stored rows whose key (or key prefix) matches ``rows``, read only from the partitions
    they touch: files are picked from the log's partition values, not by listing or stats."""
    schema = _polars_schema(_schema(dt))
    on = [k for k in layout.key if k in rows.columns]  # a key prefix reads whole groups
    if rows.is_empty():
        return pl.DataFrame(schema=schema)
    part = layout.partition
    if part:
        actions = add_actions(dt, [f"partition.{part}"])
        col = f"partition.{part}"
        wanted = actions.filter(pl.col(col).is_in(rows[part].unique().implode()))
        groups = [(v, [join(uri, p) for p in g["path"]])
                  for (v,), g in wanted.group_by(col, maintain_order=True)]
    else:
        groups = [(None, [join(uri, p) for p in add_actions(dt, [])["path"]])]
    file_schema = pl.Schema({n: t for n, t in schema.items() if n != part})
    keys = rows.lazy().select(on).unique()
    frames = []
    for value, files in groups:
        if not files:
            continue
        frame = _scan(files, file_schema)
        if part:
            frame = frame.with_columns(pl.lit(value).cast(pl.Date).alias(part))
        frames.append(frame.select(schema.names()).join(keys, on=on, how="semi",
                                                        nulls_equal=True))
    if not frames:
        return pl.DataFrame(schema=schema)
    return pl.concat(pl.collect_all(frames))


# lineage columns added after tables were first written: added to such a table (nullable; its
# older rows read as null, which readers take as ``_ingested_at``) instead of refused
_EVOLVING = {KNOWLEDGE: PrimitiveType("timestamp"),  # Delta "timestamp": UTC microseconds
             RELEASED: PrimitiveType("string")}


def _evolve(dt: DeltaTable, data: pl.DataFrame) -> None:
    """Add the :data:`_EVOLVING` columns ``data`` has and the table lacks (one metadata commit;
    timezone-aware, so the protocol stays as it is: no timestamp_ntz)."""
    have = set(_schema(dt).names)
    new = [Field(n, t, nullable=True) for n, t in _EVOLVING.items()
           if n in data.columns and n not in have]
    if new:
        dt.alter.add_columns(new)


def _conformed(dt: DeltaTable, data: pl.DataFrame) -> pl.DataFrame:
    """Cast ``data`` to the table's column order and types (a column's type never changes)."""
    _evolve(dt, data)
    target = _polars_schema(_schema(dt))
    extra = [n for n in data.columns if n not in target]
    if extra:
        raise ValueError(f"{dt.table_uri}: new columns {extra} are not in the silver schema")
    return data.select([pl.col(n).cast(t) if n in data.columns else pl.lit(None, t).alias(n)
                        for n, t in target.items()])


def _sample(rows: pl.DataFrame | Picked) -> pl.DataFrame:
    """What ``writer_properties`` judges the columns on: the rows, or those picked from."""
    return rows.frame if isinstance(rows, Picked) else rows


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0
    skipped: bool = False  # the batch was already committed to this table
    created: bool = False  # this write created the table: it holds exactly the rows given


def sync(tables: Tables, uri: str, layout: Layout, desired: pl.DataFrame | Picked,
         app_ids: Sequence[str], combine=None) -> Written:
    """Make the stored rows for the keys of ``desired`` equal to ``combine(existing, desired)``.

    ``combine`` (default: ``desired`` as is) folds the stored rows of those keys with the new
    ones, e.g. "keep the earliest lineage" or "min/max of two observation windows". Only rows
    that differ are written: an append when all are new keys, else a MERGE on the key pruned to
    the touched partitions. Nothing is written when nothing changed, so a re-run leaves the
    table version alone; the batch's application ids commit with the rows.
    """
    dt = tables.get(uri)
    txns = [Transaction(a, APP_VERSION) for a in app_ids]
    props = CommitProperties(app_transactions=txns)
    if dt is None:
        if desired.is_empty():
            return Written()
        ensure_parent(uri)
        fault("silver.create.before", uri)
        write_deltalake(uri, to_arrow_stream(desired), mode="append", commit_properties=props,
                        partition_by=[layout.partition] if layout.partition else None,
                        writer_properties=writer_properties(_sample(desired)))
        fault("silver.create.after", uri)
        tables.forget(uri)
        return Written(inserted=desired.height, created=True)
    if app_ids and all(committed(dt, a, APP_VERSION) for a in app_ids):
        return Written(skipped=True)
    if isinstance(desired, Picked):
        desired = desired.collect()
    existing = read_existing(uri, dt, layout, desired)
    if combine is not None:
        desired = combine(existing, desired)
    desired = _conformed(dt, desired)
    if existing.is_empty():
        changed, updates = desired, 0
    else:
        columns = desired.columns
        changed = desired.join(existing.select(columns), on=columns, how="anti",
                               nulls_equal=True)
        key = list(layout.key)
        updates = changed.join(existing.select(key), on=key, how="semi",
                               nulls_equal=True).height
    if changed.is_empty():
        return Written()
    if updates == 0:
        fault("silver.append.before", uri)
        write_deltalake(dt, to_arrow_stream(changed), mode="append", commit_properties=props,
                        writer_properties=writer_properties(changed))
        fault("silver.append.after", uri)
        return Written(inserted=changed.height)
    key = list(layout.key)
    on = [f"t.{k} = s.{k}" for k in key]
    if layout.partition:
        values = ", ".join(_literal(v) for v in changed[layout.partition].unique().sort())
        on += [f"t.{layout.partition} = s.{layout.partition}",
               f"t.{layout.partition} IN ({values})"]
    fault("silver.merge.before", uri)
    (dt.merge(to_arrow(changed), predicate=" AND ".join(on), source_alias="s", target_alias="t",
              commit_properties=props, writer_properties=writer_properties(changed))
     .when_matched_update_all().when_not_matched_insert_all().execute())
    fault("silver.merge.after", uri)
    return Written(inserted=changed.height - updates, updated=updates)


def overwrite(tables: Tables, uri: str, layout: Layout, rows: pl.DataFrame | Picked,
              app_ids: Sequence[str]) -> Written:
    """Replace the whole table (a full rebuild), recording every batch it now reflects."""
    dt = tables.get(uri)
    if dt is not None and app_ids and all(committed(dt, a, APP_VERSION) for a in app_ids):
        return Written(skipped=True)
    if rows.is_empty() and dt is None:
        return Written()
    ensure_parent(uri)
    props = CommitProperties(app_transactions=[Transaction(a, APP_VERSION) for a in app_ids])
    fault("silver.overwrite.before", uri)
    write_deltalake(dt if dt is not None else uri, to_arrow_stream(rows), mode="overwrite",
                    schema_mode="overwrite", commit_properties=props,
                    partition_by=[layout.partition] if layout.partition else None,
                    writer_properties=writer_properties(_sample(rows)))
    fault("silver.overwrite.after", uri)
    tables.forget(uri)
    return Written(inserted=rows.height)
