"""Which stored ledger row a micro-batch row replaces (``live.winners``): the same winner as
``canonical`` over the whole ledger, plus "a row derived again from the same source record is
its current version"."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from lakehouse.inventory.ledger import canonical
from lakehouse.inventory.live import winners
from tests.unit.inventory.helpers import frame, row


def _r(i: int, **kw) -> dict:
    out = row(i, "receipt", 10, 5)
    out.update(kw)
    return out


def test_a_row_derived_again_from_its_source_record_replaces_its_stored_self() -> None:
    t = row(1, "receipt", 10, 5)["event_time"]
    stored = frame([_r(1, arrived_at=t + timedelta(hours=2))])
    new = frame([_r(1, arrived_at=t + timedelta(hours=5))])  # silver's current copy
    out = winners(stored, new)
    assert out.height == 1 and out["arrived_at"][0] == t + timedelta(hours=5)


def test_system_of_record_beats_a_fallback_either_way_round() -> None:
    wms = _r(1, source="wms", source_event_id="M1", event_key="receipt:PO1")
    sup = _r(2, source="suppliers", source_event_id="PO1", event_key="receipt:PO1",
             delta_on_hand=4)
    for stored, new in ((sup, wms), (wms, sup)):
        out = winners(frame([stored]), frame([new]))
        assert out["source"].to_list() == ["wms"]
        assert out.equals(canonical(frame([stored, new])))


def test_known_location_replaces_an_inferred_reservation() -> None:
    inferred = _r(1, kind="reserve", source="shop", source_event_id="L1:reserve",
                  event_key="shop:L1:reserve", location_id="WH02", location_inferred=True,
                  delta_on_hand=0, delta_reserved=2)
    picked = {**inferred, "location_id": "WH01", "location_inferred": False}
    out = winners(frame([inferred]), frame([picked]))
    assert out.select("location_id", "location_inferred").rows() == [("WH01", False)]


def test_unrelated_stored_rows_are_not_returned() -> None:
    out = winners(frame([_r(1)]), frame([_r(2)]))
    assert out["event_key"].to_list() == ["k2"]
    assert winners(frame([_r(1)]), frame([])).is_empty()
    assert isinstance(out, pl.DataFrame)
