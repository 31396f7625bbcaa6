"""What a bronze row is: the entity's typed spec columns (fields added to the contract only once
they appear) and the lineage columns every bronze and silver table carries; and which bronze
entities a landing file feeds."""

from __future__ import annotations

from datetime import datetime

import polars as pl

from lakehouse.channels import Entity, entity
from lakehouse.ingest.landing import LandingFile
from lakehouse.ingest.parse.records import EXTRA, LINE
from lakehouse.ingest.validate import bronze_dtype

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
