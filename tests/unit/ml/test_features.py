"""The feature definitions on tiny hand-made frames with answers worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from lakehouse.ml.features import category_column
from lakehouse.ml.frames import customer_features, product_features

CUT = datetime(2026, 2, 1, tzinfo=UTC)
EARLY = datetime(2026, 1, 26, tzinfo=UTC)


def ts(month: int, day: int, hour: int = 0) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


PURCHASE_LINES = pl.DataFrame([
    # o1: web, two lines (home 30, toys 10)
    ("A", "o1", "web", ts(1, 1, 10), None, "home", 1, 30.0),
    ("A", "o1", "web", ts(1, 1, 10), None, "toys", 1, 10.0),
    # o2: store, home 60 (two units)
    ("A", "o2", "store", ts(1, 20, 12), None, "home", 2, 60.0),
    # o3: app, cancelled on Jan 26 noon: counts before, not after the cancellation
    ("A", "o3", "app", ts(1, 25, 9), ts(1, 26, 12), "toys", 1, 15.0),
    # o4: after the cutoff
    ("A", "o4", "web", ts(2, 5), None, "home", 1, 999.0),
], schema=["person_id", "order_key", "channel", "event_time", "cancelled_at", "category",
           "quantity", "amount"], orient="row")
RETURNS = pl.DataFrame([("A", ts(1, 22), 1, 30.0), ("A", ts(2, 3), 1, 60.0)],
                       schema=["person_id", "event_time", "quantity", "refund"], orient="row")
INTERACTIONS = pl.DataFrame([
    ("A", ts(1, 10), "s3"), ("A", ts(1, 30), "s1"), ("A", ts(1, 31, 6), "s1"),
    ("A", ts(1, 31, 12), "s2"), ("A", ts(2, 2), "s9"),
], schema=["person_id", "event_time", "session_id"], orient="row")
EMAILS = pl.DataFrame([
    ("A", ts(1, 5), "delivered", "c1"), ("A", ts(1, 20), "delivered", "c2"),
    ("A", ts(1, 6), "open", "c1"), ("A", ts(1, 6, 1), "open", "c1"),
    ("A", ts(1, 6, 2), "click", "c1"), ("A", ts(2, 3), "unsubscribe", "c2"),
], schema=["person_id", "event_time", "event_type", "campaign_id"], orient="row")


@pytest.fixture(scope="module")
def customers() -> pl.DataFrame:
    spine = pl.DataFrame({"person_id": ["A", "B", "A"], "cutoff": [CUT, CUT, EARLY]})
    return customer_features(spine, categories=["home", "toys"], purchase_lines=PURCHASE_LINES,
                             customer_returns=RETURNS, interactions=INTERACTIONS,
                             email_activity=EMAILS)


def row(frame: pl.DataFrame, key: str, entity: str, at: datetime) -> dict:
    rows = frame.filter((pl.col(key) == entity) & (pl.col("as_of") == at)).to_dicts()
    assert len(rows) == 1, rows
    return rows[0]


def test_rfm_channel_mix_and_affinities(customers) -> None:
    a = row(customers, "person_id", "A", CUT)
    assert a["frequency"] == 2  # o3 was cancelled before the cutoff, o4 is after it
    assert a["monetary"] == 100.0 and a["avg_order_value"] == 50.0
    assert a["recency_days"] == pytest.approx(11.5)  # Jan 20 12:00 -> Feb 1
    assert a["tenure_days"] == pytest.approx(30 + 14 / 24)  # Jan 1 10:00 -> Feb 1
    assert a["orders_30d"] == 1 and a["orders_90d"] == 2
    assert (a["share_web"], a["share_app"], a["share_store"]) == (0.5, 0.0, 0.5)
    assert a[category_column("home")] == pytest.approx(0.9)
    assert a[category_column("toys")] == pytest.approx(0.1)
    assert a["affinity_other"] == 0.0


def test_cancellation_after_the_cutoff_still_counts(customers) -> None:
    a = row(customers, "person_id", "A", EARLY)
    assert a["frequency"] == 3 and a["monetary"] == 115.0
    assert a["share_app"] == pytest.approx(1 / 3)


def test_returns_activity_and_email(customers) -> None:
    a = row(customers, "person_id", "A", CUT)
    assert (a["returns"], a["units_returned"], a["refund_total"]) == (1, 1, 30.0)
    assert a["return_rate"] == pytest.approx(1 / 4)  # 1 of 4 units bought before the cutoff
    assert (a["events_7d"], a["sessions_7d"]) == (3, 2)
    assert (a["events_30d"], a["sessions_30d"]) == (4, 3)
    assert a["days_since_last_visit"] == pytest.approx(0.5)
    assert (a["emails_delivered"], a["emails_opened"], a["emails_clicked"]) == (2, 1, 1)
    assert a["email_open_rate"] == 0.5 and a["email_click_rate"] == 0.5
    assert a["emails_opened_30d"] == 1  # Jan 6 is inside [Jan 2, Feb 1)
    assert a["email_unsubscribed"] is False  # the unsubscribe comes after the cutoff


def test_a_person_without_events_has_zero_counts_and_null_ratios(customers) -> None:
    b = row(customers, "person_id", "B", CUT)
    assert b["frequency"] == 0 and b["monetary"] == 0.0 and b["events_30d"] == 0
    for col in ("recency_days", "share_web", "affinity_home", "return_rate", "email_open_rate",
                "days_since_last_visit"):
        assert b[col] is None, col
    assert customers.height == 3


SALES = pl.DataFrame([
    ("P1", ts(1, 1), None, "web", 5, 100.0, 100.0),
    ("P1", ts(1, 20), None, "store", 1, 20.0, 20.0),
    ("P1", ts(1, 28), ts(1, 29), "web", 10, 200.0, 200.0),  # cancelled before the cutoff
    ("P1", ts(1, 30), None, "app", 2, 36.0, 40.0),
    ("P1", ts(2, 3), None, "web", 7, 140.0, 140.0),  # after the cutoff
], schema=["product_id", "event_time", "cancelled_at", "channel", "quantity", "amount",
           "list_amount"], orient="row")


@pytest.fixture(scope="module")
def products() -> pl.DataFrame:
    spine = pl.DataFrame({"product_id": ["P1", "P2"], "cutoff": [CUT, CUT]})
    return product_features(
        spine, sales=SALES,
        product_returns=pl.DataFrame({"product_id": ["P1", "P1"],
                                      "event_time": [ts(1, 21), ts(2, 2)], "quantity": [1, 1]}),
        product_reviews=pl.DataFrame({"product_id": ["P1"] * 3,
                                      "event_time": [ts(1, 10), ts(1, 25), ts(2, 2)],
                                      "rating": [4, 2, 5]}),
        catalog=pl.DataFrame({"product_id": ["P1"], "category": ["home"], "price": [20.0]}),
        promos=pl.DataFrame({"category": ["home", None, "toys"], "discount_pct": [20.0, 10.0, 50.0],
                             "start_date": [date(2026, 1, 25), date(2026, 2, 1),
                                            date(2026, 1, 1)],
                             "end_date": [date(2026, 1, 31), date(2026, 2, 3),
                                          date(2026, 3, 1)]}),
        stock_daily=pl.DataFrame({"product_id": ["P1"] * 3,
                                  "date": [date(2026, 1, 29), date(2026, 1, 30),
                                           date(2026, 1, 31)],
                                  "on_hand": [10, 9, 5], "available": [8, 7, 5]}))


def test_sales_velocity_price_and_discount(products) -> None:
    p = row(products, "product_id", "P1", CUT)
    assert (p["category"], p["price"]) == ("home", 20.0)
    assert (p["units_7d"], p["units_28d"], p["units_sold"]) == (2, 3, 8)
    assert p["velocity_7d"] == pytest.approx(2 / 7)
    assert p["velocity_28d"] == pytest.approx(3 / 28)
    assert p["revenue_28d"] == 56.0
    assert p["avg_selling_price_28d"] == pytest.approx(56 / 3)
    assert p["realised_discount_28d"] == pytest.approx(1 - 56 / 60)
    assert p["days_since_last_sale"] == pytest.approx(2.0)


def test_stock_from_the_last_close_before_the_cutoff(products) -> None:
    p = row(products, "product_id", "P1", CUT)
    # Jan 31 closes at Feb 1 local midnight, after the cutoff west of Greenwich: Jan 30 is used
    assert p["stock_date"] == date(2026, 1, 30)
    assert (p["stock_on_hand"], p["stock_available"]) == (9, 7)
    assert p["days_of_cover"] == pytest.approx(7 / (3 / 28))


def test_returns_reviews_and_promotion(products) -> None:
    p = row(products, "product_id", "P1", CUT)
    assert (p["units_returned"], p["return_rate"]) == (1, pytest.approx(1 / 8))
    assert (p["review_count"], p["mean_rating"]) == (2, 3.0)
    # the home promo runs through Jan 31; the sitewide one starts on the cutoff's day
    assert p["promo_active"] is True and p["promo_discount_pct"] == 20.0


def test_an_unknown_product_has_zero_counts(products) -> None:
    p = row(products, "product_id", "P2", CUT)
    assert p["units_28d"] == 0 and p["review_count"] == 0 and p["promo_active"] is False
    assert p["days_of_cover"] is None and p["mean_rating"] is None and p["category"] is None


def test_category_column_names() -> None:
    assert category_column("Home & Garden") == "affinity_home_garden"
    assert category_column("toys") == "affinity_toys"


def test_every_feature_column_is_documented(customers, products) -> None:
    from lakehouse.ml.feature_docs import column_docs

    for name, frame in (("customer", customers), ("product", products)):
        docs = column_docs(name, frame.columns)
        assert all(docs.values()), [c for c, d in docs.items() if not d]
