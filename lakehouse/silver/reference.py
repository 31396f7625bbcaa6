"""Reference data: catalog, suppliers, promotions, locations, shipping rates, loyalty members.

Reference documents are full exports: when the same key appears in several files, the later
export (file names carry the export date) wins. Loyalty sign-ups are events, deduplicated
like every other event.
"""

from __future__ import annotations

import polars as pl

from lakehouse.silver.frames import LINEAGE, lineage

PRODUCT_COLUMNS = (
    "product_id", "title", "brand", "category", "subcategory", "price", "cost", "supplier_id",
    "web_variant_id", "pos_sku", "wms_item_code", "launched_on", "status", *LINEAGE,
)


def _as_is(columns: tuple[str, ...] | None = None):
    def conform(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                ) -> tuple[pl.DataFrame, pl.DataFrame]:
        rows = frame.drop("_extra", strict=False)
        if columns:
            rows = rows.select(columns)
        return rows, rows.clear()
    return conform


conform_products = _as_is(PRODUCT_COLUMNS)
conform_suppliers = _as_is()
conform_promotions = _as_is()
conform_locations = _as_is()
conform_shipping_rates = _as_is()


def product_crosswalk(products: pl.DataFrame) -> pl.DataFrame:
    """(system, code, product_id) for every system's code, with the product row's lineage."""
    systems = {"web": "web_variant_id", "pos": "pos_sku", "wms": "wms_item_code"}
    return pl.concat([
        products.select(pl.lit(system).alias("system"), pl.col(col).alias("code"),
                        "product_id", *lineage())
        for system, col in systems.items()
    ])


LOYALTY_COLUMNS = (
    "member_id", "loyalty_id", "first_name", "last_name", "email", "phone", "address_line1",
    "address_line2", "city", "postcode", "state", "country", "date_of_birth", "signup_store",
    "event_time", *LINEAGE,
)


def conform_loyalty_members(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                            ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.with_columns(pl.col("card_number").alias("loyalty_id"),
                              pl.col("signed_up_at").alias("event_time")).select(LOYALTY_COLUMNS)
    return rows, rows.clear()
