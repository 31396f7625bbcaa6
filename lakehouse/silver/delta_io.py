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
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.dataset as pds
from deltalake import CommitProperties, DeltaTable, Transaction, write_deltalake

from lakehouse.storage.delta import committed, to_arrow

APP_VERSION = 1


def app_id(batch_id: str) -> str:
    """Application-transaction id of one bronze batch in every silver table (and quarantine)."""
    return f"lakehouse.silver/{batch_id}"


def open_table(uri: str) -> DeltaTable | None:
    return DeltaTable(uri) if DeltaTable.is_deltatable(uri) else None


def _schema(dt: DeltaTable) -> pa.Schema:
    return pa.schema(dt.schema().to_arrow())


def _files(uri: str, dt: DeltaTable, batch_id: str | None) -> list[str]:
    """Data files that may hold rows of ``batch_id`` (all files for None), from log stats."""
    actions = pl.from_arrow(pa.table(dt.get_add_actions(flatten=True)))
    assert isinstance(actions, pl.DataFrame)
    if batch_id is not None and "min._batch_id" in actions.columns:
        lo, hi = pl.col("min._batch_id"), pl.col("max._batch_id")
        # string stats may be truncated prefixes: a prefix of the id still sorts <= it
        actions = actions.filter(lo.is_null() | hi.is_null()
                                 | ((lo <= batch_id) & (pl.lit(batch_id).str.starts_with(hi)
                                                        | (hi >= batch_id))))
    return [str(Path(uri) / p) for p in actions["path"].to_list()]


def read_bronze(uri: str, batch_id: str | None) -> pl.DataFrame | None:
    """Rows of one bronze batch (every row for None); None when the table does not exist."""
    dt = open_table(uri)
    if dt is None:
        return None
    schema = _schema(dt)
    files = _files(uri, dt, batch_id)
    if not files:
        return pl.from_arrow(schema.empty_table())  # type: ignore[return-value]
    dataset = pds.dataset(files, schema=schema, format="parquet")
    filt = None if batch_id is None else pds.field("_batch_id") == batch_id
    frame = pl.from_arrow(dataset.to_table(filter=filt))
    assert isinstance(frame, pl.DataFrame)
    return frame


def batches_in(uri: str) -> list[str]:
    """Every bronze batch id in a table (for a full rebuild's application transactions)."""
    dt = open_table(uri)
    if dt is None:
        return []
    ds = pds.dataset(_files(uri, dt, None), schema=_schema(dt), format="parquet")
    return sorted(set(ds.to_table(columns=["_batch_id"]).column(0).to_pylist()))


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
    schema = _schema(dt)
    on = [k for k in layout.key if k in rows.columns]  # a key prefix reads whole groups
    if rows.is_empty():
        return pl.from_arrow(schema.empty_table())  # type: ignore[return-value]
    actions = pl.from_arrow(pa.table(dt.get_add_actions(flatten=True)))
    assert isinstance(actions, pl.DataFrame)
    part = layout.partition
    groups: list[tuple[object, list[str]]]
    if part:
        col = f"partition.{part}"
        wanted = actions.filter(pl.col(col).is_in(rows[part].unique().implode()))
        groups = [(v, [str(Path(uri) / p) for p in g["path"]])
                  for (v,), g in wanted.group_by(col, maintain_order=True)]
    else:
        groups = [(None, [str(Path(uri) / p) for p in actions["path"]])]
    file_schema = pa.schema([f for f in schema if f.name != part])
    frames = []
    for value, files in groups:
        if not files:
            continue
        # no filter pushdown: files written by MERGE hold string_view columns whose row-group
        # statistics pyarrow cannot compare with string literals; the semi-join filters instead
        frame = pl.from_arrow(pds.dataset(files, schema=file_schema, format="parquet").to_table())
        assert isinstance(frame, pl.DataFrame)
        if part:
            frame = frame.with_columns(pl.lit(value).cast(pl.Date).alias(part))
        frames.append(frame.select(schema.names))
    if not frames:
        return pl.from_arrow(schema.empty_table())  # type: ignore[return-value]
    return pl.concat(frames).join(rows.select(on).unique(), on=on, how="semi",
                                  nulls_equal=True)


def _conformed(dt: DeltaTable, data: pa.Table) -> pa.Table:
    """Cast ``data`` to the table's column order and types (a column's type never changes)."""
    target = _schema(dt)
    columns = []
    for f in target:
        if f.name in data.column_names:
            columns.append(data.column(f.name).cast(f.type))
        else:
            columns.append(pa.nulls(data.num_rows, f.type))
    extra = [n for n in data.column_names if n not in target.names]
    if extra:
        raise ValueError(f"{dt.table_uri}: new columns {extra} are not in the silver schema")
    return pa.Table.from_arrays(columns, schema=target)


@dataclass
class Written:
    inserted: int = 0
    updated: int = 0
    skipped: bool = False  # the batch was already committed to this table


def sync(uri: str, layout: Layout, desired: pl.DataFrame, app_ids: Sequence[str],
         combine=None) -> Written:
    """Make the stored rows for the keys of ``desired`` equal to ``combine(existing, desired)``.

    ``combine`` (default: ``desired`` as is) folds the stored rows of those keys with the new
    ones, e.g. "keep the earliest lineage" or "min/max of two observation windows". Only rows
    that differ are written: an append when all are new keys, else a MERGE on the key pruned to
    the touched partitions. Nothing is written when nothing changed, so a re-run leaves the
    table version alone; the batch's application ids commit with the rows.
    """
    data = to_arrow(desired)
    dt = open_table(uri)
    txns = [Transaction(a, APP_VERSION) for a in app_ids]
    props = CommitProperties(app_transactions=txns)
    if dt is None:
        if desired.is_empty():
            return Written()
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        write_deltalake(uri, data, mode="append", commit_properties=props,
                        partition_by=[layout.partition] if layout.partition else None)
        return Written(inserted=desired.height)
    if app_ids and all(committed(dt, a, APP_VERSION) for a in app_ids):
        return Written(skipped=True)
    existing = read_existing(uri, dt, layout, desired)
    if combine is not None:
        desired = combine(existing, desired)
    columns = [f.name for f in _schema(dt)]
    desired = pl.from_arrow(_conformed(dt, to_arrow(desired)))  # type: ignore[assignment]
    changed = desired.join(existing.select(columns), on=columns, how="anti", nulls_equal=True)
    if changed.is_empty():
        return Written()
    key = list(layout.key)
    updates = changed.join(existing.select(key), on=key, how="semi", nulls_equal=True).height
    data = _conformed(dt, to_arrow(changed))
    if updates == 0:
        write_deltalake(dt, data, mode="append", commit_properties=props)
        return Written(inserted=changed.height)
    on = [f"t.{k} = s.{k}" for k in key]
    if layout.partition:
        values = ", ".join(_literal(v) for v in changed[layout.partition].unique().sort())
        on += [f"t.{layout.partition} = s.{layout.partition}",
               f"t.{layout.partition} IN ({values})"]
    (dt.merge(data, predicate=" AND ".join(on), source_alias="s", target_alias="t",
              commit_properties=props)
     .when_matched_update_all().when_not_matched_insert_all().execute())
    return Written(inserted=changed.height - updates, updated=updates)


def overwrite(uri: str, layout: Layout, rows: pl.DataFrame, app_ids: Sequence[str]) -> Written:
    """Replace the whole table (a full rebuild), recording every batch it now reflects."""
    dt = open_table(uri)
    if dt is not None and app_ids and all(committed(dt, a, APP_VERSION) for a in app_ids):
        return Written(skipped=True)
    if rows.is_empty() and dt is None:
        return Written()
    Path(uri).parent.mkdir(parents=True, exist_ok=True)
    props = CommitProperties(app_transactions=[Transaction(a, APP_VERSION) for a in app_ids])
    write_deltalake(dt if dt is not None else uri, to_arrow(rows), mode="overwrite",
                    schema_mode="overwrite", commit_properties=props,
                    partition_by=[layout.partition] if layout.partition else None)
    return Written(inserted=rows.height)
