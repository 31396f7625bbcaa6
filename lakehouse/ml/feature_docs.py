"""What each feature column means (for catalogs and Dagster column schemas): the text
``publish_feature_marts`` reports and ``column_docs.py`` builds the marts' column docs from.
"""

from __future__ import annotations

from collections.abc import Sequence

CUSTOMER_DOCS = {
    "person_id": "resolved person (identity map); the only identifier, no raw PII",
    "as_of": "cutoff: every feature uses events strictly before it (label_time in a "
             "labelled training set)",
    "recency_days": "days since the last order or till purchase (null: none)",
    "tenure_days": "days since the first order or till purchase (null: none)",
    "frequency": "orders and identified till transactions (web, app, store)",
    "orders_30d": "orders in the 30 days before the cutoff",
    "orders_90d": "orders in the 90 days before the cutoff",
    "monetary": "spend after discounts, all orders",
    "monetary_90d": "spend after discounts, last 90 days",
    "avg_order_value": "monetary / frequency (null: no orders)",
    "share_web": "share of orders placed on the web shop",
    "share_app": "share of orders placed in the app",
    "share_store": "share of purchases at the till (loyalty card or card token)",
    "affinity_<category>": "share of spend in that catalog category (top categories by "
                           "product count; null: no spend)",
    "affinity_other": "share of spend outside the listed categories",
    "returns": "return receipts for the person's orders",
    "units_returned": "units returned",
    "refund_total": "refunded amount",
    "return_rate": "units returned / units bought (null: none bought)",
    "events_7d": "web and app events in the last 7 days",
    "events_30d": "web and app events in the last 30 days",
    "sessions_7d": "web and app sessions in the last 7 days",
    "sessions_30d": "web and app sessions in the last 30 days",
    "days_since_last_visit": "days since the last web or app event (null: none)",
    "emails_delivered": "campaigns delivered to any of the person's addresses",
    "emails_opened": "campaigns opened",
    "emails_clicked": "campaigns clicked",
    "emails_opened_30d": "campaigns opened in the last 30 days",
    "emails_clicked_30d": "campaigns clicked in the last 30 days",
    "email_open_rate": "campaigns opened / delivered (null: none delivered)",
    "email_click_rate": "campaigns clicked / delivered (null: none delivered)",
    "email_unsubscribed": "an unsubscribe before the cutoff",
}
PRODUCT_DOCS = {
    "product_id": "canonical product (catalog)",
    "as_of": "cutoff: every feature uses events strictly before it (label_time in a "
             "labelled training set)",
    "category": "catalog category (as of the catalog version read)",
    "price": "catalog list price (as of the catalog version read)",
    "units_7d": "units sold in the last 7 days (web, app, store; cancelled orders out)",
    "units_28d": "units sold in the last 28 days",
    "velocity_7d": "units per day over the last 7 days",
    "velocity_28d": "units per day over the last 28 days",
    "revenue_28d": "revenue after discounts, last 28 days",
    "avg_selling_price_28d": "revenue_28d / units_28d (null: none sold)",
    "realised_discount_28d": "1 - revenue / list value, last 28 days",
    "days_since_last_sale": "days since the last sale (null: never sold)",
    "stock_date": "the daily close the stock figures come from: the last one certainly "
                  "before the cutoff in every time zone (D + 38 h UTC)",
    "stock_on_hand": "units on hand over all locations at that close",
    "stock_available": "units available to promise over all locations at that close",
    "days_of_cover": "stock_available / velocity_28d (null: nothing sold in 28 days)",
    "units_sold": "units sold, all history",
    "units_returned": "units returned, all history",
    "units_returned_28d": "units returned in the last 28 days",
    "return_rate": "units_returned / units_sold (null: none sold)",
    "review_count": "reviews submitted",
    "review_count_28d": "reviews submitted in the last 28 days",
    "mean_rating": "mean review rating, 1-5 (null: no review)",
    "promo_active": "a promotion of the product's category (or sitewide) runs on the day "
                    "before the cutoff instant",
    "promo_discount_pct": "the largest such promotion's discount, percent (0: none)",
}


def column_docs(name: str, columns: Sequence[str]) -> dict[str, str]:
    """Descriptions of a feature frame's columns (affinity columns share one text)."""
    docs = CUSTOMER_DOCS if name == "customer" else PRODUCT_DOCS
    return {c: docs.get(c) or docs.get("affinity_<category>" if c.startswith("affinity_")
                                        else c, "") for c in columns}
