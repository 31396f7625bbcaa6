"""Sales: shop orders (one row per order, its latest version) and their lines, till lines,
shipments, returns and reviews, all with canonical product ids.

An order is re-delivered whole when it changes (a cancellation sets ``cancelled_at`` and a later
``updated_at``), so every version is conformed and the merge keeps the latest ``updated_at``.
An order with any unmapped line is quarantined whole: half an order would misstate revenue.
"""

from __future__ import annotations

import polars as pl

from lakehouse.silver.frames import LINEAGE, event_date, lineage
from lakehouse.silver.products import map_product, raw_json

ORDER_LINE = pl.List(pl.Struct({
    "id": pl.String, "variant_id": pl.String, "sku": pl.String, "title": pl.String,
    "quantity": pl.Int64, "price": pl.String, "total_discount": pl.String,
}))
CUSTOMER = pl.Struct({"id": pl.String, "email": pl.String, "first_name": pl.String,
                      "last_name": pl.String, "phone": pl.String, "created_at": pl.String})
ADDRESS = pl.Struct({"first_name": pl.String, "last_name": pl.String, "address1": pl.String,
                     "address2": pl.String, "city": pl.String, "zip": pl.String,
                     "province_code": pl.String, "country_code": pl.String,
                     "phone": pl.String})
_ISO = "%Y-%m-%dT%H:%M:%S%.f%#z"


def _money(col: pl.Expr) -> pl.Expr:
    return col.cast(pl.Float64, strict=False)


def parse_orders(frame: pl.DataFrame) -> pl.DataFrame:
    """Bronze orders with the nested JSON decoded into flat columns (still one row per order)."""
    c = pl.col("customer").str.json_decode(CUSTOMER)
    a = pl.col("shipping_address").str.json_decode(ADDRESS)
    return frame.with_columns(
        c.struct.field("id").alias("customer_id"),
        c.struct.field("email").alias("customer_email"),
        c.struct.field("first_name").alias("customer_first_name"),
        c.struct.field("last_name").alias("customer_last_name"),
        c.struct.field("phone").alias("customer_phone"),
        c.struct.field("created_at").str.to_datetime(_ISO, strict=False)
        .dt.convert_time_zone("UTC").cast(pl.Datetime("us", "UTC")).alias("customer_created_at"),
        a.struct.field("first_name").alias("ship_first_name"),
        a.struct.field("last_name").alias("ship_last_name"),
        a.struct.field("address1").alias("ship_address1"),
        a.struct.field("address2").alias("ship_address2"),
        a.struct.field("city").alias("ship_city"), a.struct.field("zip").alias("ship_postcode"),
        a.struct.field("province_code").alias("ship_state"),
        a.struct.field("country_code").alias("ship_country"),
        a.struct.field("phone").alias("ship_phone"),
        pl.col("discount_codes").str.json_decode(pl.List(pl.String)).list.join(";")
        .alias("discount_codes"),
        pl.col("line_items").str.json_decode(ORDER_LINE).alias("_items"),
    )


ORDER_COLUMNS = (
    "order_id", "order_number", "channel", "created_at", "updated_at", "cancelled_at",
    "is_cancelled", "financial_status", "currency", "total_price", "line_count", "email",
    "phone", "customer_id", "customer_email", "customer_first_name", "customer_last_name",
    "customer_phone", "customer_created_at", "ship_first_name", "ship_last_name",
    "ship_address1", "ship_address2", "ship_city", "ship_postcode", "ship_state",
    "ship_country", "ship_phone", "payment_fingerprint", "browser_id", "landing_site",
    "discount_codes", "order_date", *LINEAGE,
)
LINE_COLUMNS = (
    "order_id", "line_id", "product_id", "variant_id", "sku", "title", "quantity", "unit_price",
    "discount", "order_date", "updated_at", *LINEAGE,
)


def conform_orders(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                   ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(orders, order_lines, quarantined): every version of every order and its lines."""
    parsed = parse_orders(frame).with_columns(pl.col("created_at").dt.date().alias("order_date"))
    lines = parsed.select(
        pl.col("id").alias("order_id"), "order_date", "updated_at", *lineage(),
        pl.col("_items"),
    ).explode("_items").unnest("_items").select(
        "order_id", pl.col("id").alias("line_id"), "variant_id", "sku", "title", "quantity",
        _money(pl.col("price")).alias("unit_price"),
        _money(pl.col("total_discount")).alias("discount"), "order_date", "updated_at",
        *lineage(),
    )
    lines, bad_lines = map_product(lines, crosswalk, system="web", code="variant_id",
                                   channel="orders", entity="orders",
                                   field="line_items.variant_id")
    bad_keys = bad_lines.select("_source_file", "_line").unique()
    orders = parsed.join(bad_keys, on=["_source_file", "_line"], how="anti",
                         maintain_order="left").select(
        pl.col("id").alias("order_id"), "order_number", pl.col("source_name").alias("channel"),
        "created_at", "updated_at", "cancelled_at",
        pl.col("cancelled_at").is_not_null().alias("is_cancelled"), "financial_status",
        "currency", _money(pl.col("total_price")).alias("total_price"),
        pl.col("_items").list.len().cast(pl.Int64).alias("line_count"), "email", "phone",
        "customer_id", "customer_email", "customer_first_name", "customer_last_name",
        "customer_phone", "customer_created_at", "ship_first_name", "ship_last_name",
        "ship_address1", "ship_address2", "ship_city", "ship_postcode", "ship_state",
        "ship_country", "ship_phone", "payment_fingerprint", "browser_id", "landing_site",
        "discount_codes", "order_date", *lineage(),
    )
    # one quarantine row per bronze order, naming its first unmapped code
    bad = bad_lines.unique(subset=["_source_file", "_line"], keep="first", maintain_order=True)
    bad_raw = frame.join(bad.select("_source_file", "_line"), on=["_source_file", "_line"],
                         how="semi", maintain_order="left")
    if not bad.is_empty():
        bad = bad.drop("raw").join(
            bad_raw.select("_source_file", "_line", raw_json(bad_raw).alias("raw")),
            on=["_source_file", "_line"]).select(bad_lines.columns)
    lines = lines.join(bad_keys, on=["_source_file", "_line"], how="anti",
                       maintain_order="left")
    return orders.select(ORDER_COLUMNS), lines.select(LINE_COLUMNS), bad


POS_COLUMNS = (
    "transaction_id", "line_no", "location_id", "register_id", "event_time", "event_date",
    "product_id", "pos_sku", "quantity", "unit_price", "discount", "promo_id", "loyalty_card",
    "card_token", "payment_type", *LINEAGE,
)


def conform_pos_transactions(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                             ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.with_columns(
        pl.col("store_code").alias("location_id"), pl.col("txn_time").alias("event_time"),
        event_date("txn_time"), pl.col("qty").alias("quantity"))
    good, bad = map_product(rows, crosswalk, system="pos", code="pos_sku", channel="pos",
                            entity="transactions")
    return good.select(POS_COLUMNS), bad


SHIPMENT_COLUMNS = (
    "shipment_id", "order_id", "location_id", "carrier", "service", "zone", "shipped_at",
    "promised_delivery", "delivered_at", "cost", "units", *LINEAGE,
)


def conform_shipments(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                      ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.with_columns(pl.col("from_site").alias("location_id"))
    return rows.select(SHIPMENT_COLUMNS), rows.clear().select(SHIPMENT_COLUMNS)


RETURN_COLUMNS = (
    "return_id", "order_id", "channel", "product_id", "variant_id", "quantity", "reason",
    "disposition", "location_id", "event_time", "refund_amount", *LINEAGE,
)


def conform_returns(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.with_columns(pl.col("qty").alias("quantity"),
                              pl.col("site_code").alias("location_id"),
                              pl.col("received_at").alias("event_time"))
    good, bad = map_product(rows, crosswalk, system="web", code="variant_id", channel="returns",
                            entity="returns")
    return good.select(RETURN_COLUMNS), bad


REVIEW_COLUMNS = (
    "review_id", "product_id", "variant_id", "rating", "title", "body", "reviewer_email",
    "reviewer_name", "order_id", "event_time", *LINEAGE,
)


def conform_reviews(frame: pl.DataFrame, crosswalk: pl.DataFrame,
                    ) -> tuple[pl.DataFrame, pl.DataFrame]:
    rows = frame.with_columns(pl.col("submitted_at").alias("event_time"))
    good, bad = map_product(rows, crosswalk, system="web", code="variant_id", channel="reviews",
                            entity="reviews")
    return good.select(REVIEW_COLUMNS), bad
