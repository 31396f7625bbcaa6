"""The quarantine table: every row that did not reach bronze, with its raw text and a reason."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from lakehouse.ingest.parse import LINE, RAW

ERROR_KINDS = (
    "broken_json", "missing_required", "wrong_type", "negative_quantity", "bad_timestamp",
    "future_timestamp", "encoding_error", "unreadable_file", "unknown_file", "malformed_csv",
    "unresolved_timezone", "unknown_field_type", "out_of_range", "duplicate_key",
    "unknown_product",  # silver: a product code the catalog crosswalk does not know
)
SCHEMA = {
    "_source_channel": pl.String, "_entity": pl.String, "_source_file": pl.String,
    "_line": pl.Int64, "_batch_id": pl.String, "_ingested_at": pl.Datetime("us", "UTC"),
    "_delivered_at": pl.Datetime("us", "UTC"), "raw": pl.String, "error_kind": pl.String,
    "field": pl.String, "reason": pl.String,
}


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
    ).cast(SCHEMA)  # type: ignore[arg-type]


def empty() -> pl.DataFrame:
    return pl.DataFrame(schema=SCHEMA)
