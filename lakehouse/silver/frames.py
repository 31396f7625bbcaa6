"""Small helpers shared by the conform functions: optional columns, lineage, event dates."""

from __future__ import annotations

import polars as pl

LINEAGE = ("_source_file", "_line", "_batch_id", "_ingested_at")
UTC_US = pl.Datetime("us", "UTC")


def opt(frame: pl.DataFrame, name: str, dtype: pl.DataType) -> pl.Expr:
    """Column ``name`` if bronze has it yet (schema drift adds fields mid-stream), else null."""
    return pl.col(name).cast(dtype) if name in frame.columns else pl.lit(None, dtype)


def lineage() -> list[pl.Expr]:
    return [pl.col(c) for c in LINEAGE]


def event_date(col: str = "event_time") -> pl.Expr:
    """UTC calendar date of an event: the partition of event tables."""
    return pl.col(col).dt.date().alias("event_date")


def empty_like(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.clear()
