"""Small helpers shared by the conform functions: optional columns, lineage, event dates."""

from __future__ import annotations

import polars as pl

# ``_delivered_at`` is the row's knowledge time (its landing file's delivery time, DESIGN.md
# rule 8); bronze written before it existed has none: read as ``_ingested_at`` (``known_at``)
LINEAGE = ("_source_file", "_line", "_batch_id", "_ingested_at", "_delivered_at")
KNOWLEDGE = "_delivered_at"
UTC_US = pl.Datetime("us", "UTC")


def opt(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    """Column ``name`` if bronze has it yet (schema drift adds fields mid-stream), else null."""
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype)


def lineage() -> list[pl.Expr]:
    return [pl.col(c) for c in LINEAGE]


def known_at() -> pl.Expr:
    """A row's knowledge time: ``_delivered_at``, or ``_ingested_at`` for rows written before
    lineage carried it (the later of the two, so never earlier than the truth)."""
    return pl.coalesce(pl.col(KNOWLEDGE), pl.col("_ingested_at"))


def with_knowledge(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with ``_delivered_at`` filled from ``_ingested_at`` where missing (tables or
    files written before the column existed); frames without lineage pass unchanged."""
    if "_ingested_at" not in frame.columns:
        return frame
    if KNOWLEDGE not in frame.columns:
        return frame.with_columns(pl.col("_ingested_at").alias(KNOWLEDGE))
    if frame[KNOWLEDGE].null_count() == 0:
        return frame
    return frame.with_columns(known_at().alias(KNOWLEDGE))


def event_date(col: str = "event_time") -> pl.Expr:
    """UTC calendar date of an event: the partition of event tables."""
    return pl.col(col).dt.date().alias("event_date")


def empty_like(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.clear()
