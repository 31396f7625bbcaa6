"""The quarantine table: every row that did not reach bronze or silver, with its raw text and a
reason.

A row is *dead* (wrong for good: broken JSON, bad types, negative quantities) or *pending*
(DESIGN.md rule 7): silver held it back because something it references is not known yet (a
product code the catalog crosswalk lacks, a location, supplier, or the order of a return or
shipment). Every later silver build retries pending rows; one whose reference has landed goes
to silver, exactly once, and its quarantine row records the batch that released it
(``released_by``, ``released_at``): *released*. Rows are never deleted here.

A row is one step's refusal of one line: a till line released into bronze once its store's
time zone landed (``unresolved_timezone``, released) that silver then holds back for its
product has a second row, of silver's kind, with its own release.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from lakehouse.ingest.parse.records import LINE, RAW

ERROR_KINDS = (
    "broken_json", "missing_required", "wrong_type", "negative_quantity", "bad_timestamp",
    "future_timestamp", "encoding_error", "unreadable_file", "unknown_file", "malformed_csv",
    "unresolved_timezone", "unknown_field_type", "out_of_range", "duplicate_key",
    # silver, retryable: a reference that is not known yet
    "unknown_product", "unknown_location", "unknown_supplier", "unknown_order",
    "unknown_transaction",
)
# kinds retried on every batch until the reference lands (DESIGN.md rule 7): by silver (a code
# or key silver does not hold yet), and by bronze (a till's local time whose store has no
# time zone in the landed store list yet)
SILVER_RETRYABLE = frozenset({"unknown_product", "unknown_location", "unknown_supplier",
                              "unknown_order", "unknown_transaction"})
BRONZE_RETRYABLE = frozenset({"unresolved_timezone"})
RETRYABLE_KINDS = SILVER_RETRYABLE | BRONZE_RETRYABLE
SCHEMA = {
    "_source_channel": pl.String, "_entity": pl.String, "_source_file": pl.String,
    "_line": pl.Int64, "_batch_id": pl.String, "_ingested_at": pl.Datetime("us", "UTC"),
    "_delivered_at": pl.Datetime("us", "UTC"), "raw": pl.String, "error_kind": pl.String,
    "field": pl.String, "reason": pl.String,
    "released_by": pl.String, "released_at": pl.Datetime("us", "UTC"),
}
# what the columns of SCHEMA hold that the lineage columns (bronze.LINEAGE_DOCS) do not say
COLUMN_DOCS = {
    "_source_channel": "Channel of the landing file the row came from (landing/<channel>/).",
    "_entity": "Entity of the channel the row was read as (the bronze table "
    "<channel>__<entity>); null for a file whose name matches no entity.",
    "raw": "The rejected input as text: the JSON or CSV line, a JSON document's record, or the "
    "start of a file refused whole; for a row silver held back, the bronze row as JSON. Can "
    "hold raw personal data (e-mails, phones): reports never show it.",
    "error_kind": "Why the row was rejected (ERROR_KINDS): unknown_product, unknown_location, "
    "unknown_supplier, unknown_order, unknown_transaction and unresolved_timezone wait for a "
    "reference and are retried (pending); every other kind is dead.",
    "field": "Contract field the error is about (nested fields dotted, e.g. "
    "line_items.variant_id); null when it concerns the whole row or file.",
    "reason": "Human-readable explanation of the error; a pending row that now waits for "
    "another reference gets that reference's reason.",
    "released_by": "Batch that released the row (an ingest or replay batch into bronze, or a "
    "silver build into silver); null while pending or dead.",
    "released_at": "When the release was recorded (UTC); null while not released.",
}
# a row's key: one bronze row (a file's line of one entity)
KEY = ("_source_channel", "_entity", "_source_file", "_line")


def status_expr() -> pl.Expr:
    """``released`` (a later batch let it into silver), ``pending`` (waiting for a reference)
    or ``dead`` (wrong for good). Tables written before ``released_by`` existed have none."""
    return (pl.when(pl.col("released_by").is_not_null()).then(pl.lit("released"))
            .when(pl.col("error_kind").is_in(sorted(RETRYABLE_KINDS))).then(pl.lit("pending"))
            .otherwise(pl.lit("dead")).alias("status"))


def quarantine_rows(errors: pl.DataFrame, *, channel: str, entity: str | None,
                    source: str | pl.Expr, batch_id: str, ingested_at: datetime,
                    delivered_at: datetime | pl.Expr) -> pl.DataFrame:
    """Error rows (``_line``, ``_raw``, ``error_kind``, ``field``, ``reason``) with lineage.

    ``source`` is the file name, or an expression giving it per row (a group of files);
    ``delivered_at`` likewise the file's delivery (modification) time: the rows' knowledge
    time."""
    return errors.select(
        pl.lit(channel, pl.String).alias("_source_channel"),
        pl.lit(entity, pl.String).alias("_entity"),
        (source if isinstance(source, pl.Expr) else pl.lit(source, pl.String))
        .cast(pl.String).alias("_source_file"),
        pl.col(LINE).cast(pl.Int64),
        pl.lit(batch_id, pl.String).alias("_batch_id"),
        pl.lit(ingested_at).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
        (delivered_at if isinstance(delivered_at, pl.Expr) else pl.lit(delivered_at))
        .cast(pl.Datetime("us", "UTC")).alias("_delivered_at"),
        pl.col(RAW).alias("raw"),
        pl.col("error_kind"), pl.col("field"), pl.col("reason"),
        pl.lit(None, pl.String).alias("released_by"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("released_at"),
    ).cast(SCHEMA)  # type: ignore[arg-type]


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)


def mark_released(uri: str, keys: pl.DataFrame, release_id: str, at: datetime) -> int:
    """Record that the rows ``keys`` (the :data:`KEY` columns and ``_batch_id``: one delivery
    of one line) were released by ``release_id``: a MERGE that only touches rows not released
    yet, so a re-run records nothing twice. Tables written before these columns existed get
    them first."""
    if keys.is_empty():
        return 0
    on_cols = [*KEY, "_batch_id"]
    keys = keys.select(on_cols).unique().with_columns(
        pl.lit(release_id, pl.String).alias("released_by"),
        pl.lit(at).cast(pl.Datetime("us", "UTC")).alias("released_at"))
    merge_release_marks(uri, keys, on_cols,
                        ("quarantine.release.before", "quarantine.release.after"))
    return keys.height


def merge_release_marks(uri: str, marks: pl.DataFrame, on: Sequence[str],
                        fault_points: tuple[str, str]) -> None:
    """Copy ``released_by`` and ``released_at`` from ``marks`` onto the quarantine rows that
    match on the columns ``on`` and that no release has marked yet: one MERGE, so marking
    again changes nothing. A table written before these columns existed gets them first.
    ``fault_points``: the crash points just before and just after the MERGE."""
    from deltalake import DeltaTable, Field
    from deltalake.schema import PrimitiveType

    from lakehouse.storage.delta import to_arrow
    from lakehouse.storage.faults import fault

    dt = DeltaTable(uri)
    have = {f.name for f in dt.schema().fields}
    new = [Field(n, PrimitiveType(t), nullable=True)
           for n, t in (("released_by", "string"), ("released_at", "timestamp"))
           if n not in have]
    if new:
        dt.alter.add_columns(new)
    predicate = " AND ".join(f"t.{k} = s.{k}" for k in on)
    before, after = fault_points
    fault(before, uri)
    (dt.merge(to_arrow(marks), predicate=predicate, source_alias="s", target_alias="t")
     .when_matched_update({"released_by": "s.released_by", "released_at": "s.released_at"},
                          predicate="t.released_by IS NULL")
     .execute())
    fault(after, uri)


def update_reasons(uri: str, rows: pl.DataFrame) -> int:
    """Give rows still waiting their current ``error_kind``, ``field`` and ``reason`` (``rows``:
    :data:`KEY`, ``_batch_id`` and those three): a row that waited for its store and now waits
    for its order says so, as one delivery of the same files would."""
    from deltalake import DeltaTable

    from lakehouse.storage.delta import to_arrow
    from lakehouse.storage.faults import fault

    if rows.is_empty():
        return 0
    on_cols = [*KEY, "_batch_id"]
    rows = rows.select(*on_cols, "error_kind", "field", "reason").unique(subset=on_cols)
    on = " AND ".join(f"t.{k} = s.{k}" for k in on_cols)
    fault("quarantine.reasons.before", uri)
    (DeltaTable(uri).merge(to_arrow(rows), predicate=on, source_alias="s", target_alias="t")
     .when_matched_update({c: f"s.{c}" for c in ("error_kind", "field", "reason")},
                          predicate="t.released_by IS NULL")
     .execute())
    fault("quarantine.reasons.after", uri)
    return rows.height
