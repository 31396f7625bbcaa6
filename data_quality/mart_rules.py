"""What each warehouse relation promises beyond its columns: keys, required columns, value
ranges, vocabularies and references to dims (``schema.table`` -> rules). Every relation also
gets the generic part of its suite: no raw PII in any string column, no future timestamps.

These overlap dbt's own tests on purpose: dbt tests run inside the build, these run in the
audit before the analysts' file is replaced, and they add what dbt's generic tests do not
(ranges, shares, no PII, no future times, non-empty marts).
"""

from data_quality.suites import MartRules

_CUSTOMER = ("person_id", "main.dim_customers", "person_id")
_PRODUCT = ("product_id", "main.dim_products", "product_id")
_LOCATION = ("location_id", "main.dim_locations", "location_id")
_SUPPLIER = ("supplier_id", "main.dim_suppliers", "supplier_id")
_CHANNELS = ("web", "app", "store")

MART_RULES: dict[str, MartRules] = {
    "main.dim_dates": MartRules(key=("date_day",), min_rows=1),
    "main.dim_customers": MartRules(
        key=("person_id",), not_null=("household_id", "household_size"), min_rows=1,
        between=(("order_count", 0, None), ("total_revenue", 0, None),
                 ("return_count", 0, None), ("household_size", 1, None),
                 ("loyalty_member_count", 0, None)),
        sets=(("loyalty_tier", ("bronze", "silver", "gold")),),
        references=(("household_id", "main.dim_households", "household_id"),)),
    # one row per household: every person in exactly one, so sizes add up to dim_customers
    # every segmented person is a customer; scores 1-5 among buyers, 0 for a person who never
    # bought
    "main.dim_customer_segments": MartRules(
        key=("person_id",), not_null=("rfm_segment", "rfm_score", "cluster_id", "cluster_name"),
        min_rows=1, rows_expected_from="staging.stg_gold__customer_segments",
        between=(("r_score", 0, 5), ("f_score", 0, 5), ("m_score", 0, 5), ("frequency", 0, None),
                 ("monetary", 0, None), ("recency_days", 0, None), ("cluster_share", 0, 1)),
        references=(_CUSTOMER,)),
    # demand is never negative and the intervals hold the mean
    "main.fct_demand_forecast": MartRules(
        key=("forecast_key",), not_null=("product_id", "location_id", "forecast_date",
                                         "demand_mean", "sales_channel"),
        min_rows=1, rows_expected_from="staging.stg_gold__demand_forecast",
        between=(("demand_mean", 0, None), ("demand_lo_95", 0, None), ("demand_hi_95", 0, None),
                 ("days_ahead", 1, None)),
        sets=(("sales_channel", ("store", "online")),),
        references=(_PRODUCT, _LOCATION)),
    "main.fct_replenishment_plan": MartRules(
        key=("action_key",), not_null=("product_id", "location_id", "action", "source_id",
                                       "quantity", "order_date"),
        rows_expected_from="staging.stg_gold__replenishment_recommendations",
        between=(("quantity", 1, None), ("expected_cost", 0, None), ("purchase_value", 0, None)),
        sets=(("action", ("order", "transfer")),),
        references=(_PRODUCT, _LOCATION)),
    "main.dim_households": MartRules(
        key=("household_id",), not_null=("persons", "records"), min_rows=1,
        rows_expected_from="main.dim_customers",
        between=(("persons", 1, None), ("records", 1, None), ("order_count", 0, None),
                 ("total_revenue", 0, None))),
    "main.dim_products": MartRules(
        key=("product_id",), not_null=("category", "price"),
        min_rows=1, rows_expected_from="staging.stg_silver__products",
        between=(("price", 0, None), ("cost", 0, None), ("return_rate", 0, 1),
                 ("quality_score", 0, 1), ("avg_rating", 1, 5))),
    "main.dim_locations": MartRules(key=("location_id",), min_rows=1,
                                    rows_expected_from="staging.stg_silver__locations"),
    "main.fct_orders": MartRules(
        key=("order_id",), not_null=("channel", "ordered_at"),
        min_rows=1, rows_expected_from="staging.stg_silver__orders",
        sets=(("channel", _CHANNELS),), between=(("net_revenue", 0, None),),
        references=(_CUSTOMER, _LOCATION), newest="ordered_at"),
    "main.fct_order_lines": MartRules(
        key=("order_line_id",), not_null=("order_id", "product_id", "quantity"),
        min_rows=1, rows_expected_from="staging.stg_silver__order_lines",
        sets=(("channel", _CHANNELS),), between=(("quantity", 1, None),
                                                 ("unit_price", 0, None)),
        references=(_CUSTOMER, _PRODUCT, ("order_id", "main.fct_orders", "order_id")),
        newest="ordered_at"),
    "main.fct_interactions": MartRules(
        key=("interaction_id",), not_null=("interaction_type", "occurred_at", "channel"),
        min_rows=1, references=(_CUSTOMER, _PRODUCT), newest="occurred_at"),
    "main.fct_sessions": MartRules(
        key=("session_key",), not_null=("started_at",), min_rows=1,
        between=(("duration_seconds", 0, None), ("event_count", 1, None)),
        references=(_CUSTOMER,), newest="started_at"),
    # reserved may dip below zero while a WMS pick is in before the shop order it ships (the
    # feeds lag each other, e.g. an order still in flight): a cross-system lag, not bad data,
    # so it does not block publishing; inventory_discrepancies reports it ("wms vs shop")
    "main.fct_inventory_positions": MartRules(
        key=("position_key",), not_null=("product_id", "location_id"),
        between=(("inbound", 0, None), ("in_transit_out", 0, None), ("at_risk", 0, None)),
        min_rows=1, rows_expected_from="staging.stg_gold__inventory_positions",
        references=(_PRODUCT, _LOCATION)),
    "main.fct_inventory_daily": MartRules(
        key=("snapshot_key",), not_null=("product_id", "location_id", "snapshot_date"),
        min_rows=1, rows_expected_from="staging.stg_gold__inventory_daily",
        references=(_PRODUCT, _LOCATION)),
    "main.fct_shipments": MartRules(
        key=("shipment_id",), not_null=("order_id", "shipped_at"),
        between=(("cost", 0, None), ("units", 0, None), ("transit_days", 0, None)),
        references=(_CUSTOMER, _LOCATION), newest="shipped_at"),
    "main.fct_returns": MartRules(
        key=("return_id",), not_null=("product_id", "returned_at"),
        between=(("quantity", 1, None), ("refund_amount", 0, None)),
        references=(_CUSTOMER, _PRODUCT), newest="returned_at"),
    "main.fct_marketing_performance": MartRules(
        key=("campaign_day_key",), not_null=("campaign_id", "activity_date"),
        between=(("ad_spend", 0, None), ("email_opens", 0, None),
                 ("attributed_revenue", 0, None))),
    # attribution: one row per touch, per conversion, per (model, conversion, touch); credits
    # are shares (their sums per conversion are dbt tests on int_attribution__credits)
    "main.fct_touchpoints": MartRules(
        key=("touch_id",), not_null=("journey_id", "touch_channel", "occurred_at"),
        min_rows=1, rows_expected_from="main.fct_sessions",
        between=(("position_in_journey", 1, None), ("journey_length", 1, None),
                 ("days_before_conversion", 0, None)),
        references=(_CUSTOMER, ("conversion_id", "main.fct_conversions", "conversion_id")),
        newest="occurred_at"),
    "main.fct_conversions": MartRules(
        key=("conversion_id",), not_null=("converted_at", "journey_id", "journey_touches"),
        min_rows=1, rows_expected_from="main.fct_orders",
        sets=(("conversion_channel", _CHANNELS),),
        between=(("journey_touches", 1, None), ("journey_days", 0, None),
                 ("conversion_value", 0, None)),
        references=(_CUSTOMER, ("conversion_id", "main.fct_orders", "order_id")),
        newest="converted_at"),
    "main.fct_attribution": MartRules(
        key=("attribution_key",), not_null=("attribution_model", "conversion_id", "touch_id",
                                            "credit"),
        min_rows=1, rows_expected_from="main.fct_conversions",
        between=(("credit", 0, 1), ("attributed_revenue", 0, None)),
        references=(_CUSTOMER, ("conversion_id", "main.fct_conversions", "conversion_id"),
                    ("touch_id", "main.fct_touchpoints", "touch_id"))),
    "main.fct_attribution_channels": MartRules(
        key=("channel_day_key",), not_null=("attribution_model", "touch_channel",
                                            "activity_date"),
        between=(("attributed_conversions", 0, None), ("cost", 0, None))),
    "main.fct_attribution_campaigns": MartRules(
        key=("campaign_day_key",), not_null=("attribution_model", "campaign_id",
                                             "activity_date"),
        between=(("attributed_conversions", 0, None), ("cost", 0, None))),
    # inventory exceptions and options: alerts and discrepancies are rightly empty when the
    # systems agree (no min_rows)
    # no min_rows: no phantom stock is the healthy state (0 rows in /tmp/h15b)
    "main.fct_inventory_alerts": MartRules(
        key=("alert_key",), not_null=("product_id", "location_id", "status", "opened_at",
                                      "shortfall_units"),
        sets=(("status", ("open", "closed")),),
        between=(("shortfall_units", 1, None), ("episode_event_count", 1, None),
                 ("age_days", 0, None), ("negative_days", 0, None)),
        references=(_PRODUCT, _LOCATION), newest="opened_at"),
    # no min_rows: systems that agree leave it empty; product/location are null for an
    # unmapped product code (references skip nulls)
    "main.fct_inventory_discrepancies": MartRules(
        key=("discrepancy_key",), not_null=("systems", "cause", "units", "abs_units"),
        sets=(("cause", ("lagging sync", "missing event", "shrinkage",
                         "unmapped product code")),),
        between=(("abs_units", 0, None), ("age_days", 0, None)),
        references=(_PRODUCT, _LOCATION), newest="discrepant_since"),
    "main.fct_fulfilment_options": MartRules(
        key=("fulfilment_option_key",),
        not_null=("product_id", "zone", "service", "location_id", "shipping_cost",
                  "delivery_days", "fulfilment_rank", "is_routed"),
        min_rows=1, rows_expected_from="staging.stg_gold__inventory_fulfilment_options",
        sets=(("service", ("standard", "express")),),
        between=(("sellable", 1, None), ("shipping_cost", 0, None), ("transit_days", 0, None),
                 ("backlog_orders", 0, None), ("ship_capacity_per_day", 1, None),
                 ("dispatch_in_days", 0, None), ("delivery_days", 0, None),
                 ("fulfilment_rank", 1, None)),
        references=(_PRODUCT, _LOCATION)),
    "main.fct_channel_availability": MartRules(
        key=("availability_key",),
        not_null=("product_id", "channel", "sales_channel", "location_id", "sellable"),
        min_rows=1, rows_expected_from="staging.stg_gold__inventory_channel_availability",
        sets=(("sales_channel", _CHANNELS),),
        between=(("available_to_promise", 0, None), ("at_risk", 0, None),
                 ("held_back_units", 0, None), ("sellable", 0, None)),
        references=(_PRODUCT, _LOCATION)),
    # suppliers and purchase orders, promotions, loyalty
    "main.dim_suppliers": MartRules(
        key=("supplier_id",), not_null=("supplier_name", "product_count", "po_line_count"),
        min_rows=1, rows_expected_from="staging.stg_silver__suppliers",
        between=(("fill_rate", 0, 1), ("on_time_share", 0, 1), ("return_rate", 0, None),
                 ("avg_rating", 1, 5), ("product_count", 0, None), ("short_units", 0, None),
                 ("quoted_lead_time_days", 0, None))),
    "main.fct_purchase_orders": MartRules(
        key=("po_number",), not_null=("supplier_id", "product_id", "location_id",
                                      "ordered_qty", "received_qty", "delivery_status"),
        min_rows=1, rows_expected_from="staging.stg_silver__purchase_orders",
        sets=(("delivery_status", ("on_time", "late", "overdue", "not_due")),
              ("po_status", ("received", "open"))),
        between=(("ordered_qty", 1, None), ("received_qty", 0, None), ("short_qty", 0, None),
                 ("open_qty", 0, None), ("late_days", 0, None), ("receipt_count", 0, None)),
        references=(_SUPPLIER, _PRODUCT, _LOCATION), newest="ordered_at"),
    "main.dim_promotions": MartRules(
        key=("promo_id",), not_null=("start_date", "end_date", "is_sitewide",
                                     "promotion_status"),
        min_rows=1, rows_expected_from="staging.stg_silver__promotions",
        sets=(("promotion_status", ("scheduled", "running", "ended")),),
        between=(("discount_pct", 0, 100), ("duration_days", 1, None),
                 ("days_observed", 0, None), ("units", 0, None), ("redeemed_units", 0, None))),
    # no min_rows: empty while no promotion has run inside the sales data
    "main.fct_promotion_performance": MartRules(
        key=("promotion_day_key",), not_null=("promo_id", "promotion_date", "units", "revenue",
                                              "redeemed_units"),
        between=(("units", 0, None), ("redeemed_units", 0, None), ("baseline_units", 0, None),
                 ("baseline_days", 0, 4), ("day_of_promotion", 1, None),
                 ("units_lift", -1, None)),
        references=(("promo_id", "main.dim_promotions", "promo_id"),)),
    "main.dim_loyalty_members": MartRules(
        key=("loyalty_member_key",), not_null=("loyalty_card_hash", "signup_channel",
                                               "loyalty_tier"),
        min_rows=1, rows_expected_from="staging.stg_silver__loyalty_members",
        sets=(("signup_channel", ("store", "online")),
              ("loyalty_tier", ("bronze", "silver", "gold"))),
        between=(("card_transaction_count", 0, None), ("online_order_count", 0, None),
                 ("store_order_count", 0, None), ("lifetime_spend", 0, None)),
        references=(_CUSTOMER, ("household_id", "main.dim_households", "household_id"),
                    ("signup_location_id", "main.dim_locations", "location_id")),
        newest="signed_up_at"),
}
