"""Materialization metadata shared by every Delta-table asset."""

import dagster as dg
import polars as pl

from lakehouse.storage.tables import table_stats
from orchestration.column_docs import column_docs


def table_metadata(uri: str) -> dict:
    stats = table_stats(uri)
    docs = column_docs(uri)
    if stats is None:
        return {"dagster/row_count": 0, "path": dg.MetadataValue.path(uri)}
    return {
        "dagster/row_count": stats.rows,
        "dagster/column_schema": dg.TableSchema(
            columns=[dg.TableColumn(name, type_, description=docs.get(name))
                     for name, type_ in stats.columns]
        ),
        "delta_version": stats.version,
        "delta_files": stats.files,
        "bytes": stats.bytes,
        "path": dg.MetadataValue.path(uri),
    }


def markdown_table(frame: pl.DataFrame, digits: int = 3) -> dg.MetadataValue:
    """A small frame as a Markdown table for the UI (floats rounded, pipes escaped)."""
    def cell(value) -> str:
        text = f"{value:.{digits}f}" if isinstance(value, float) else str(value)
        return text.replace("|", "\\|")
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * frame.width]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.iter_rows()]
    return dg.MetadataValue.md("\n".join(lines))
