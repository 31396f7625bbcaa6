"""Suites of the ML products: what a model, a marketer or a buyer may rely on in every row of
the feature marts, the customer segments, the demand forecasts, the replenishment plan and the
recommendations."""

from data_quality.suites import Expect, Suite

_SHARES = ("share_web", "share_app", "share_store", "return_rate", "email_open_rate",
           "email_click_rate")
_COUNTS = ("frequency", "orders_30d", "orders_90d", "returns", "units_returned", "events_7d",
           "events_30d", "sessions_7d", "sessions_30d", "emails_delivered", "emails_opened",
           "emails_clicked")
_PRODUCT_COUNTS = ("units_7d", "units_28d", "units_sold", "units_returned", "review_count")


def _between(columns, low, high=None) -> list[Expect]:
    bounds = (("min_value", low),) + ((("max_value", high),) if high is not None else ())
    return [Expect("ExpectColumnValuesToBeBetween", c, bounds) for c in columns]


def ml_suites() -> dict[str, Suite]:
    customer = [Expect("ExpectColumnValuesToNotBeNull", c) for c in ("person_id", "as_of")]
    customer += [Expect("ExpectColumnValuesToMatchRegex", "person_id", (("regex", r"^P"),))]
    customer += _between(_SHARES, 0, 1) + _between(_COUNTS, 0)
    customer += _between(("monetary", "recency_days", "tenure_days"), 0)
    product = [Expect("ExpectColumnValuesToNotBeNull", c) for c in ("product_id", "as_of")]
    product += _between(_PRODUCT_COUNTS, 0) + _between(("return_rate",), 0, 1)
    product += _between(("mean_rating",), 1, 5) + _between(("price",), 0)
    scores = _between(("r_score", "f_score", "m_score"), 0, 5)
    segments = [Expect("ExpectColumnValuesToNotBeNull", c)
                for c in ("person_id", "rfm_score", "rfm_segment", "cluster", "cluster_name",
                          "as_of")]
    segments += [Expect("ExpectColumnValuesToMatchRegex", "person_id", (("regex", r"^P"),)),
                 Expect("ExpectColumnValuesToMatchRegex", "rfm_score", (("regex", r"^[0-5]{3}$"),))]
    segments += scores + _between(("frequency", "monetary", "recency_days", "cluster"), 0)
    profiles = [Expect("ExpectColumnValuesToNotBeNull", c)
                for c in ("cluster", "cluster_name", "description", "persons", "as_of")]
    profiles += _between(("persons",), 1) + _between(("share", "buyer_share"), 0, 1)
    bounds = ("mean", "lo_80", "hi_80", "lo_95", "hi_95")
    forecast = [Expect("ExpectColumnValuesToNotBeNull", c)
                for c in ("product_id", "location_id", "date", "model", *bounds, "as_of")]
    forecast += _between(bounds, 0)
    accuracy = [Expect("ExpectColumnValuesToNotBeNull", c) for c in ("model", "n_series")]
    accuracy += _between(("mase", "wape", "n_series"), 0)
    plan = [Expect("ExpectColumnValuesToNotBeNull", c)
            for c in ("product_id", "location_id", "action", "source_id", "quantity",
                      "order_date", "expected_arrival", "reason", "as_of")]
    plan += [Expect("ExpectColumnValuesToBeInSet", "action",
                    (("value_set", ("order", "transfer")),))]
    plan += _between(("quantity",), 1) + _between(
        ("reorder_point", "order_up_to", "expected_lost_units", "unit_cost", "order_cost",
         "shipping_cost", "holding_cost"), 0)
    recs = [Expect("ExpectColumnValuesToNotBeNull", c)
            for c in ("person_id", "channel", "rank", "product_id", "score",
                      "available_to_promise", "reason", "as_of")]
    recs += [Expect("ExpectColumnValuesToMatchRegex", "person_id", (("regex", r"^P"),))]
    # never recommend what the channel cannot sell now
    recs += _between(("rank", "available_to_promise"), 1) + _between(("quality",), 0, 1)
    recs += _between(("fulfilment_cost", "delivery_days"), 0)
    return {
        "ml_recommendations": Suite(
            "gold.ml_recommendations", tuple(recs), unique_key=("person_id", "channel", "rank"),
            newest_column="as_of", tags={"layer": "gold"},
            references=(("person_id", "customer_profiles", "person_id"),)),
        # one row per product, location and day ahead: the chosen model's, never negative
        "demand_forecast": Suite(
            "gold.demand_forecast", tuple(forecast),
            unique_key=("product_id", "location_id", "date"), newest_column="as_of",
            min_rows=1, rows_expected_from="gold/inventory_daily", tags={"layer": "gold"}),
        "forecast_accuracy": Suite("gold.forecast_accuracy", tuple(accuracy),
                                   tags={"layer": "gold"}),
        "replenishment_recommendations": Suite(
            "gold.replenishment_recommendations", tuple(plan),
            unique_key=("product_id", "location_id", "action", "source_id", "order_date"),
            newest_column="as_of", tags={"layer": "gold"}),
        "customer_segments": Suite(
            "gold.customer_segments", tuple(segments), unique_key=("person_id",),
            newest_column="as_of", min_rows=1, tags={"layer": "gold"},
            references=(("person_id", "customer_profiles", "person_id"),
                        ("cluster", "customer_segment_profiles", "cluster"))),
        "customer_segment_profiles": Suite(
            "gold.customer_segment_profiles", tuple(profiles), unique_key=("cluster",),
            newest_column="as_of", min_rows=1, tags={"layer": "gold"}),
        "ml_customer_features": Suite(
            "gold.ml_customer_features", tuple(customer), unique_key=("person_id",),
            newest_column="as_of", min_rows=1, tags={"layer": "gold"},
            references=(("person_id", "customer_profiles", "person_id"),)),
        "ml_product_features": Suite(
            "gold.ml_product_features", tuple(product), unique_key=("product_id",),
            newest_column="as_of", min_rows=1, tags={"layer": "gold"},
            rows_expected_from="silver/products"),
    }
