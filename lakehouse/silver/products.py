"""The product crosswalk: every source system's product code -> the canonical catalog product.

Each channel names products its own way (web/app variant ids, till SKUs, WMS item codes). Silver
maps them all to ``product_id`` here; a code that is not in the crosswalk is quarantined as
pending (``unknown_product``, retried by every later build: the catalog may simply not have
landed yet) with a reason naming the file, line, field and code, never dropped and never passed
on unmapped.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from lakehouse.ingest.quarantine import SCHEMA as QUARANTINE_SCHEMA
from lakehouse.silver.frames import with_knowledge

CROSSWALK_SCHEMA = {"system": pl.String, "code": pl.String, "product_id": pl.String}
MAPPING_FILE = "product_crosswalk.csv"  # in the home's mappings/: system,code,product_id
SYSTEMS = ("web", "pos", "wms")


class MappingError(ValueError):
    pass


def read_mapping(path: Path) -> pl.DataFrame:
    """A hand-kept crosswalk (``system,code,product_id`` with a header): codes the catalog
    does not list (a legacy till SKU, a supplier's item code), mapped by a data engineer. Rows
    carry lineage like bronze rows (file, line; the file's modification time as knowledge
    time). A bad row is an error naming the file, line and field: a mapping is edited by hand
    and read on every build, so it must not be half applied."""
    from datetime import UTC, datetime

    text = path.read_text(encoding="utf-8")
    frame = pl.read_csv(text.encode(), infer_schema=False, has_header=True)
    missing = [c for c in CROSSWALK_SCHEMA if c not in frame.columns]
    if missing:
        raise MappingError(f"{path} line 1: header lacks {', '.join(missing)} "
                           "(expected system,code,product_id)")
    frame = frame.select(*(pl.col(c).str.strip_chars() for c in CROSSWALK_SCHEMA)).with_row_index(
        "_line", offset=2)
    for col in CROSSWALK_SCHEMA:
        blank = frame.filter(pl.col(col).is_null() | (pl.col(col) == ""))
        if blank.height:
            raise MappingError(f"{path} line {blank['_line'][0]}: field {col} is empty")
    odd = frame.filter(~pl.col("system").is_in(SYSTEMS))
    if odd.height:
        raise MappingError(f"{path} line {odd['_line'][0]}: field system is "
                           f"{odd['system'][0]!r}, not one of {', '.join(SYSTEMS)}")
    dup = frame.filter(pl.struct("system", "code").is_duplicated())
    if dup.height:
        raise MappingError(f"{path} line {dup['_line'][0]}: {dup['system'][0]} code "
                           f"{dup['code'][0]!r} is mapped more than once")
    mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return frame.select(
        *CROSSWALK_SCHEMA, pl.lit(f"mappings/{path.name}").alias("_source_file"),
        pl.col("_line").cast(pl.Int64), pl.lit("mapping", pl.String).alias("_batch_id"),
        pl.lit(mtime).cast(pl.Datetime("us", "UTC")).alias("_ingested_at"),
        pl.lit(mtime).cast(pl.Datetime("us", "UTC")).alias("_delivered_at"))


def raw_json(frame: pl.DataFrame) -> pl.Expr:
    """The bronze row (without lineage) as JSON: what a quarantined row keeps as ``raw``."""
    cols = [c for c in frame.columns if not c.startswith("_")]
    return pl.struct(cols).struct.json_encode()


def quarantine_rows(bad: pl.DataFrame, *, channel: str, entity: str, kind: str, field: str,
                    reason: pl.Expr) -> pl.DataFrame:
    """Bronze rows that silver refuses, in the quarantine table's schema."""
    if bad.is_empty():
        return pl.DataFrame(schema=QUARANTINE_SCHEMA)
    bad = with_knowledge(bad)
    return bad.select(
        pl.lit(channel).alias("_source_channel"), pl.lit(entity).alias("_entity"),
        pl.col("_source_file"), pl.col("_line"), pl.col("_batch_id"), pl.col("_ingested_at"),
        pl.col("_delivered_at"),
        raw_json(bad).alias("raw"), pl.lit(kind).alias("error_kind"),
        pl.lit(field).alias("field"),
        (pl.col("_source_file") + pl.format(" line {}: ", pl.col("_line")) + reason)
        .alias("reason"),
        pl.lit(None, pl.String).alias("released_by"),
        pl.lit(None, pl.Datetime("us", "UTC")).alias("released_at"),
    ).cast(QUARANTINE_SCHEMA)  # type: ignore[arg-type]


def map_product(frame: pl.DataFrame, crosswalk: pl.DataFrame, *, system: str, code: str,
                channel: str, entity: str, field: str | None = None,
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Add ``product_id`` for the ``system`` code in column ``code``.

    Returns (rows whose code is null or mapped, quarantine rows for unmapped codes). ``field``
    names the code in the reason when it differs from the column (nested order lines).
    """
    xw = crosswalk.filter((pl.col("system") == system) & pl.col("code").is_not_null()).select(
        pl.col("code").alias(code), "product_id").unique(subset=[code], keep="first")
    # a lookup adds one column (a left join would copy every column of the frame)
    joined = frame.with_columns(pl.col(code).replace_strict(
        xw[code], xw["product_id"], default=None, return_dtype=pl.String).alias("product_id"))
    unmapped = joined[code].is_not_null() & joined["product_id"].is_null()
    if not unmapped.any():
        return joined, pl.DataFrame(schema=QUARANTINE_SCHEMA)
    name = field or code
    bad = quarantine_rows(
        joined.filter(unmapped).drop("product_id"), channel=channel, entity=entity,
        kind="unknown_product", field=name,
        reason=pl.format(f"{name} `{{}}` is not in the product catalog crosswalk yet "
                         "(pending: released when the catalog lists it)", pl.col(code)))
    return joined.filter(~unmapped), bad
