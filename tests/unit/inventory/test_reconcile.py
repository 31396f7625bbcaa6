"""Discrepancy causes: lagging sync vs missing event by age, shrinkage from counts."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from lakehouse.inventory.reconcile import discrepancies
from lakehouse.storage.validations import record_validation
from tests.unit.inventory.helpers import T0, frame, row, silver


def test_causes() -> None:
    fallback = {**row(1, "receipt", 0, 4), "source": "suppliers", "source_event_id": "PO-1",
                "event_key": "receipt:PO-1"}
    fresh = {**row(2, "receipt", 60 * 47, 2), "source": "suppliers", "source_event_id": "PO-2",
             "event_key": "receipt:PO-2"}
    led = frame([fallback, fresh, row(3, "cycle_count", 60 * 48, 3)])
    d = discrepancies(silver(), led, now=T0 + timedelta(hours=48), lag=timedelta(days=1))
    by = {r["reference"]: r for r in d.iter_rows(named=True)}
    assert by["PO-1"]["cause"] == "missing event" and by["PO-1"]["units"] == 4
    assert by["PO-2"]["cause"] == "lagging sync"
    assert by["k3"]["cause"] == "shrinkage" and by["k3"]["units"] == -3  # 6 expected, 3 found
    assert by["PO-1"]["since"] == T0


def test_transfer_without_booking_in() -> None:
    mv = pl.DataFrame({"movement_type": ["TRANSFER_OUT", "TRANSFER_OUT", "TRANSFER_IN"],
                       "reference": ["TR-1", "TR-2", "TR-2"], "location_id": ["W", "W", "S"],
                       "product_id": ["P", "P", "P"], "qty": [5, 2, 2],
                       "event_time": [T0, T0, T0 + timedelta(hours=9)]})
    d = discrepancies(silver(movements=mv), frame([row(1, "receipt", 0, 1)]),
                      now=T0 + timedelta(days=5))
    t = d.filter(pl.col("systems").str.contains("store"))
    assert t["reference"].to_list() == ["TR-1"] and t["cause"].item() == "missing event"


def test_a_shipped_order_missing_the_pick_of_one_line() -> None:
    # O1: P1 picked, P2 not; O2: two lines of P1, one picked
    mv = pl.DataFrame({"movement_id": ["m1", "m2"], "movement_type": ["PICK", "PICK"],
                       "reference": ["O1", "O2"], "location_id": ["W", "W"],
                       "product_id": ["P1", "P1"], "qty": [1, 1], "event_time": [T0, T0]})
    ship = pl.DataFrame({"shipment_id": ["S1", "S2"], "order_id": ["O1", "O2"],
                         "location_id": ["W", "W"], "shipped_at": [T0, T0]})
    lines = pl.DataFrame({"order_id": ["O1", "O1", "O2", "O2"],
                          "line_id": ["L1", "L2", "L3", "L4"],
                          "product_id": ["P1", "P2", "P1", "P1"], "quantity": [1, 3, 1, 1]})
    d = discrepancies(silver(movements=mv, shipments=ship, order_lines=lines),
                      frame([row(1, "receipt", 0, 1)]), now=T0 + timedelta(days=3))
    gone = d.filter(pl.col("systems") == "shop/carrier vs wms").sort("reference")
    assert gone.select("reference", "product_id", "units", "cause").rows() == [
        ("O1", "P2", 3, "missing event"), ("O2", "P1", 1, "missing event")]


def test_a_pick_for_an_order_the_shop_has_not_delivered() -> None:
    mv = pl.DataFrame({"movement_id": ["m1", "m2", "m2"], "movement_type": ["PICK"] * 3,
                       "reference": ["O1", "O9", "O9"], "location_id": ["W", "W", "W"],
                       "product_id": ["P1", "P2", "P2"], "qty": [1, 2, 2],
                       "event_time": [T0, T0, T0]})
    lines = pl.DataFrame({"order_id": ["O1"], "line_id": ["L1"], "product_id": ["P1"],
                          "quantity": [1]})
    for hours, cause in ((3, "lagging sync"), (72, "missing event")):
        d = discrepancies(silver(movements=mv, order_lines=lines),
                          frame([row(1, "receipt", 0, 1)]), now=T0 + timedelta(hours=hours))
        orphan = d.filter(pl.col("systems") == "wms vs shop")
        # the re-delivered movement counts once; the known order is not reported
        assert orphan.select("reference", "product_id", "units", "cause").rows() == [
            ("O9", "P2", 2, cause)]


def test_unmapped_product_codes_from_stock_feeds_only(tmp_path) -> None:
    q = pl.DataFrame({"_source_channel": ["wms", "pos", "web"],
                      "_source_file": ["wms/a.csv", "pos/b.csv", "web/c.jsonl"],
                      "_ingested_at": [T0, T0, T0], "error_kind": ["unknown_product"] * 3})
    q.write_delta(str(tmp_path / "lake" / "quarantine" / "rows"))
    # read at its validated pin: a quarantine nobody checked yet is not read
    record_validation(tmp_path / "lake" / "quarantine" / "rows", 0, "quarantine.rows", 3)
    d = discrepancies(silver(), frame([row(1, "receipt", 0, 1)]), home=tmp_path)
    u = d.filter(pl.col("cause") == "unmapped product code").sort("systems")
    assert u["systems"].to_list() == ["catalog vs pos", "catalog vs wms"]  # not clickstream
