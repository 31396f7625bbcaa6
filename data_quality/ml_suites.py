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
    return {
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
