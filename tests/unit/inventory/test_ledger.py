"""Ledger rows from silver: a shop order closes into the local day of the visit it was
placed in; a fallback never double counts."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from lakehouse.inventory.ledger import build_ledger
from lakehouse.inventory.ledger_shop import order_sessions
from tests.unit.inventory.helpers import silver

TS = pl.Datetime("us", "UTC")


def orders(created: list[datetime]) -> tuple[pl.DataFrame, pl.DataFrame]:
    n = len(created)
    o = pl.DataFrame({"order_id": [f"O{i}" for i in range(n)], "created_at": created,
                      "updated_at": created, "cancelled_at": [None] * n,
                      "is_cancelled": [False] * n, "ship_state": ["NY"] * n,
                      "_ingested_at": created},
                     schema_overrides={"created_at": TS, "updated_at": TS, "cancelled_at": TS,
                                       "_ingested_at": TS})
    lines = pl.DataFrame({"order_id": o["order_id"], "line_id": [f"L{i}" for i in range(n)],
                          "product_id": ["P1"] * n, "quantity": [1] * n})
    return o, lines


def picks(n: int) -> pl.DataFrame:
    return pl.DataFrame({"movement_id": [f"m{i}" for i in range(n)],
                         "movement_type": ["PICK"] * n, "reference": [f"O{i}" for i in range(n)],
                         "location_id": ["WH01"] * n, "product_id": ["P1"] * n, "qty": [1] * n,
                         "counted_qty": [None] * n, "seq_no": list(range(n)),
                         "event_time": [datetime(2026, 1, 3, 8, tzinfo=UTC)] * n},
                        schema_overrides={"counted_qty": pl.Int64})


def test_an_order_after_midnight_in_a_visit_begun_before_it_closes_into_the_day_before() -> None:
    # 00:02 New York time on Jan 2 = 05:02 UTC; the first visit began 7 minutes earlier
    t = datetime(2026, 1, 2, 5, 2, tzinfo=UTC)
    o, lines = orders([t, t])
    clicks = pl.DataFrame({
        "event_type": ["page_view", "product_view", "purchase", "page_view", "purchase"],
        "session_id": ["S1", "S1", "S1", "S2", "S2"],
        "order_id": [None, None, "O0", None, "O1"],
        # S2 runs on a device clock 3 h slow: only the visit's length matters
        "event_time": [t - timedelta(minutes=7), t - timedelta(minutes=3), t,
                       t - timedelta(hours=3, minutes=1), t - timedelta(hours=3)]},
        schema_overrides={"event_time": TS})
    sess = order_sessions(clicks)
    assert dict(sess.select("order_id", pl.col("session_lead").dt.total_minutes())
                .iter_rows()) == {"O0": 7, "O1": 1}
    led = build_ledger(silver(orders=o, order_lines=lines, movements=picks(2),
                              order_sessions=sess))
    days = dict(led.filter(pl.col("kind") == "reserve").select("reference", "business_day")
                .iter_rows())
    assert days == {"O0": date(2026, 1, 1), "O1": date(2026, 1, 2)}
    # without the clickstream: the order's own local day
    led = build_ledger(silver(orders=o, order_lines=lines, movements=picks(2)))
    assert set(led.filter(pl.col("kind") == "reserve")["business_day"]) == {date(2026, 1, 2)}


def test_supplier_delivery_stands_in_for_a_wms_receipt_without_double_counting() -> None:
    t = datetime(2026, 1, 2, 7, 30, tzinfo=UTC)
    po = pl.DataFrame({"po_number": ["PO-1"], "product_id": ["P1"], "location_id": ["WH01"],
                       "delivered_at": [t + timedelta(seconds=30)], "delivered_qty": [5],
                       "ordered_qty": [5]}, schema_overrides={"delivered_at": TS})
    alone = build_ledger(silver(purchase_orders=po))
    assert alone["source"].to_list() == ["suppliers"] and alone["delta_on_hand"].sum() == 5
    mv = pl.DataFrame({"movement_id": ["m1"], "movement_type": ["RECEIPT"],
                       "reference": ["PO-1"], "location_id": ["WH01"], "product_id": ["P1"],
                       "qty": [5], "counted_qty": [None], "seq_no": [1], "event_time": [t]},
                      schema_overrides={"counted_qty": pl.Int64, "event_time": TS})
    both = build_ledger(silver(purchase_orders=po, movements=mv))
    assert both["source"].to_list() == ["wms"] and both["delta_on_hand"].sum() == 5
