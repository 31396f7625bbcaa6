"""Per-channel availability (the allocation rule), fulfilment options by zone within capacity,
transfers in transit, and the API's ``as_of``."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from lakehouse.inventory.api import Inventory, availability, fulfilment
from lakehouse.inventory.channels import shrinkage_rates
from lakehouse.inventory.inbound import transfers_in_transit
from tests.unit.inventory.helpers import T0, frame, locations, row, shipping_rates

DAY = 24 * 60


def inventory(rows: list[dict], movements: pl.DataFrame | None = None) -> Inventory:
    return Inventory(frame(rows), pl.DataFrame(), locations(), shipping_rates(),
                     pl.DataFrame() if movements is None else movements)


def stocked() -> list[dict]:
    return [row(1, "receipt", 0, 10, location="WH01"), row(2, "receipt", 0, 6, location="WH02"),
            row(3, "receipt", 0, 4, location="ST001"), row(4, "receipt", 0, 3, location="ST002"),
            row(5, "reserve", 10, 2, location="WH01", reference="O1")]


def test_web_and_app_share_the_warehouses_and_a_store_sells_its_shelf() -> None:
    inv = inventory(stocked())
    web, app = availability(inv, channel="web"), availability(inv, channel="app")
    assert web["location_id"].to_list() == ["WH01", "WH02"]
    assert web["sellable"].to_list() == app["sellable"].to_list() == [8, 6]  # 10 - 2 held
    st = availability(inv, channel="ST001")
    assert st["location_id"].to_list() == ["ST001"] and st["sellable"].item() == 4
    assert availability(inv, channel="store")["location_id"].to_list() == ["ST001", "ST002"]
    assert availability(inv, channel="online")["sellable"].to_list() == [8, 6]
    with pytest.raises(ValueError, match="warehouse"):
        availability(inv, channel="WH01")
    with pytest.raises(ValueError, match="unknown channel"):
        availability(inv, channel="fax")


def test_online_holds_back_shrinkage_at_risk_a_store_does_not() -> None:
    # a count 10 days after the opening count reveals 10 of 100 units gone: 1% a day
    rows = [row(1, "cycle_count", 0, 100, location="WH01"),
            row(2, "cycle_count", 10 * DAY, 90, location="WH01"),
            row(3, "cycle_count", 0, 100, location="ST001"),
            row(4, "cycle_count", 10 * DAY, 90, location="ST001"),
            row(9, "sale", 20 * DAY, 0, location="ST001")]  # now: 10 days after the counts
    rates = shrinkage_rates(frame(rows))
    assert rates["shrinkage_rate"].to_list() == pytest.approx([0.01, 0.01])
    inv = inventory(rows)
    web = availability(inv, channel="web").row(0, named=True)
    assert web["at_risk"] == pytest.approx(9.0) and web["sellable"] == 90 - 9
    store = availability(inv, channel="ST001").row(0, named=True)
    assert store["at_risk"] == pytest.approx(9.0) and store["sellable"] == 90


def test_fulfilment_options_by_zone_cost_and_capacity() -> None:
    # WH01 (NE, 2 parcels a day) has 4 orders queued; WH02 (W) has none
    rows = [row(1, "receipt", 0, 10, location="WH01"), row(2, "receipt", 0, 3, location="WH02")]
    rows += [row(10 + k, "reserve", 5, 1, location="WH01", reference=f"O{k}") for k in range(5)]
    rows += [row(20, "pick", 60, 1, location="WH01", reference="O0")]  # shipped: not queued
    inv = inventory(rows)
    ne = fulfilment(inv, zone="NE", service="standard")
    assert ne["location_id"].to_list() == ["WH01", "WH02"]
    first = ne.row(0, named=True)
    assert (first["rank"], first["shipping_cost"], first["transit_days"]) == (1, 4.99, 2)
    assert (first["backlog_orders"], first["dispatch_in_days"], first["delivery_days"]) == (4, 2, 4)
    assert ne.row(1, named=True)["delivery_days"] == 5  # far, but nothing queued
    # 4 units: only WH01 has them sellable (10 - 1 on hand picked - 4 held = 5)
    big = fulfilment(inv, zone="W", quantity=4)
    assert set(big["location_id"]) == {"WH01"} and set(big["service"]) == {"standard", "express"}
    assert fulfilment(inv, zone="W", quantity=50).is_empty()
    # stores have no ship capacity: never an option
    assert "ST001" not in fulfilment(inventory([row(1, "receipt", 0, 5, location="ST001")]))[
        "location_id"].to_list()


def test_transfers_in_transit_until_booked_in() -> None:
    mv = pl.DataFrame({
        "movement_id": ["m1", "m2", "m3"], "movement_type": ["TRANSFER_OUT", "TRANSFER_OUT",
                                                             "TRANSFER_IN"],
        "reference": ["TR-1", "TR-2", "TR-2"], "location_id": ["WH01", "WH01", "ST001"],
        "product_id": ["P1", "P1", "P1"], "qty": [5, 2, 2],
        "event_time": [T0, T0, T0 + timedelta(hours=9)]})
    now = transfers_in_transit(mv)
    assert now["in_transit_out"].to_list() == [5]
    assert transfers_in_transit(mv, T0 + timedelta(hours=1))["in_transit_out"].to_list() == [7]
    inv = inventory([row(1, "receipt", 0, 10, location="WH01")], mv)
    a = availability(inv, location="WH01", as_of=T0 + timedelta(hours=1))
    assert a["in_transit_out"].item() == 7


def test_availability_as_of_reads_the_past() -> None:
    rows = [row(1, "receipt", 0, 5, location="WH01"),
            row(2, "reserve", 60, 2, location="WH01", reference="O1"),
            row(3, "pick", DAY + 60, 2, location="WH01", reference="O1"),
            row(4, "sale", 2 * DAY, 1, location="ST001"),
            row(5, "receipt", 0, 4, location="ST001")]
    inv = inventory(rows)
    cols = ["product_id", "location_id", "on_hand", "reserved", "available_to_promise",
            "inbound"]
    assert set(cols) <= set(availability(inv).columns)
    wh = availability(inv, location="WH01", as_of=T0 + timedelta(hours=2)).row(0, named=True)
    assert (wh["on_hand"], wh["reserved"], wh["available_to_promise"]) == (5, 2, 3)
    # a date means the end of that day (UTC): the pick at 08:01 on Jan 2 is in
    day2 = availability(inv, location="WH01", as_of=date(2026, 1, 2)).row(0, named=True)
    assert (day2["on_hand"], day2["reserved"]) == (3, 0)
    before = availability(inv, as_of=T0 - timedelta(minutes=1))
    assert before.is_empty()
    assert availability(inv, product_ids="P1", location="ST001")["on_hand"].item() == 3
    assert availability(inv, product_ids=["P2"]).is_empty()
