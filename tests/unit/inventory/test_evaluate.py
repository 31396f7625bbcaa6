"""Evaluation against the truth: every mismatch in a class, accuracy both ways."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from lakehouse.inventory.daily import daily_positions
from lakehouse.inventory.evaluate import (
    EQUAL,
    IN_FLIGHT,
    OTHER,
    SHRINK,
    SHRINK_OPEN,
    classify,
    explain,
)
from tests.unit.inventory.helpers import frame, row

DAY = 24 * 60
D1 = date(2026, 1, 1)


def truth(key: tuple[str, str], on_hand: list[int]) -> pl.DataFrame:
    return pl.DataFrame({"product_id": key[0], "location_id": key[1],
                         "date": [D1 + timedelta(days=i) for i in range(len(on_hand))],
                         "on_hand": on_hand, "reserved": 0})


def test_shrinkage_the_next_count_reveals_and_after_the_last_count() -> None:
    # truth loses 1 unit on the evenings of days 1 and 2 (unrecorded); the count on day 4
    # finds 8 of the 10 the ledger expects; another unit goes on day 5, after the last count
    led = frame([row(1, "cycle_count", 0, 10), row(2, "cycle_count", 3 * DAY, 8)])
    t = truth(("P1", "WH01"), [10, 9, 8, 8, 7, 7, 7, 7, 7, 7])
    daily = daily_positions(led, D1, D1 + timedelta(days=9))
    c = classify(led, daily, t, settle_days=2).sort("date")
    assert c["cls"].to_list() == [EQUAL, SHRINK, SHRINK, EQUAL] + [SHRINK_OPEN] * 4 + [
        IN_FLIGHT] * 2
    e = explain(led, daily, t, settle_days=2)
    assert e["share_equal_settled"] == 2 / 8
    assert e["uncounted_shrinkage_positions"] == 6
    assert e["share_equal_without_uncounted_shrinkage"] == 1.0


def test_a_real_error_is_other() -> None:
    # the ledger is short by a unit the truth has (a missing receipt): not shrinkage
    led = frame([row(1, "cycle_count", 0, 10), row(2, "sale", DAY, 1)])
    t = truth(("P1", "WH01"), [10, 10, 10, 10, 10])
    daily = daily_positions(led, D1, D1 + timedelta(days=4))
    c = classify(led, daily, t, settle_days=1).sort("date")
    assert c["cls"].to_list() == [EQUAL, OTHER, OTHER, OTHER, IN_FLIGHT]
    assert explain(led, daily, t, settle_days=1)["share_equal_without_uncounted_shrinkage"] \
        == 0.25
