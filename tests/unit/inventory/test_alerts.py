"""Phantom alerts: none for a receipt arriving after the sale it funded; a real dip is alerted
only after the watermark, naming its events."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from lakehouse.inventory.alerts import phantom_alerts
from lakehouse.inventory.fold import apply_batch, state_of
from tests.unit.inventory.helpers import T0, frame, row


def arrived(r: dict, minutes: int) -> dict:
    return {**r, "arrived_at": T0 + timedelta(minutes=minutes)}


def test_a_receipt_arriving_after_its_sale_raises_nothing() -> None:
    receipt = arrived(row(1, "receipt", 0, 3, location="ST001"), 600)  # lands 10 h late
    sale = arrived(row(2, "sale", 30, 2, location="ST001"), 31)
    first = frame([sale])  # only the sale has arrived: negative, but before the watermark
    assert phantom_alerts(first, watermark=T0).is_empty()
    pending = phantom_alerts(first, watermark=T0, include_pending=True)
    assert pending["status"].to_list() == ["pending"]
    both = frame([sale, receipt])
    assert phantom_alerts(both, watermark=T0 + timedelta(days=1)).is_empty()
    assert state_of(both)["on_hand"].item() == 1
    assert apply_batch(state_of(first), frame([receipt]))["on_hand"].item() == 1


def test_a_dip_past_the_watermark_is_alerted_with_its_events() -> None:
    led = frame([row(1, "cycle_count", 0, 1), row(2, "sale", 10, 2), row(3, "sale", 20, 1),
                 row(4, "receipt", 60, 5), row(5, "sale", 90, 1)])
    before = phantom_alerts(led, watermark=T0 + timedelta(minutes=5))
    assert before.is_empty()
    alerts = phantom_alerts(led, watermark=T0 + timedelta(minutes=15))
    assert alerts.height == 1
    a = alerts.row(0, named=True)
    assert a["trigger_event"] == "k2" and a["trigger_kind"] == "sale"
    assert a["min_on_hand"] == -2 and a["last_count_event"] == "k1"
    assert a["events"] == ["k2", "k3", "k4"]  # the dip and the receipt that ended it
    assert a["until"] == T0 + timedelta(minutes=60)


def test_default_watermark_follows_arrivals() -> None:
    sale = arrived(row(2, "sale", 30, 2), 31)
    led = frame([sale])
    assert phantom_alerts(led, lateness=timedelta(hours=1)).is_empty()
    later = pl.concat([led, frame([arrived(row(3, "reserve", 300, 1), 300)])])
    assert phantom_alerts(later, lateness=timedelta(hours=1)).height == 1
