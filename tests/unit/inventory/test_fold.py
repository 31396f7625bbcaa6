"""Ledger fold: event time, not arrival order; cycle counts reset; reservations; increments."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from lakehouse.inventory.daily import daily_positions
from lakehouse.inventory.fold import (
    apply_batch,
    empty_state,
    positions,
    running,
    state_of,
    supersede,
)
from lakehouse.inventory.ledger import canonical
from tests.unit.inventory.helpers import KINDS, T0, cmp, frame, ledger_of, row

events = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 3000), st.integers(0, 9),
              st.sampled_from(["P1", "P2"]), st.sampled_from(["WH01", "ST001"])),
    min_size=1, max_size=60)


@settings(max_examples=80, deadline=None)
@given(events, st.randoms(use_true_random=False))
def test_any_arrival_order_gives_the_same_positions(evs, rnd) -> None:
    led = ledger_of(evs)
    shuffled = led.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 10_000))
    # a re-delivered event (duplicate) changes nothing either
    redelivered = pl.concat([shuffled, shuffled.head(5)])
    assert cmp(positions(led)).equals(cmp(positions(redelivered)))


@settings(max_examples=80, deadline=None)
@given(events, st.randoms(use_true_random=False), st.integers(1, 6))
def test_any_batching_gives_the_same_state_as_one_fold(evs, rnd, n_batches) -> None:
    led = ledger_of(evs)
    order = led.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 10_000))
    cuts = sorted(rnd.randint(0, order.height) for _ in range(n_batches - 1))
    state = empty_state()
    seen = order.clear()
    for lo, hi in zip([0, *cuts], [*cuts, order.height], strict=True):
        batch = order.slice(lo, hi - lo)
        state = apply_batch(state, batch, history=seen)
        seen = pl.concat([seen, batch])
    full = state_of(led)
    assert cmp(state).equals(cmp(full))
    got = state.sort("product_id", "location_id")
    assert got["last_count_time"].to_list() == full.sort(
        "product_id", "location_id")["last_count_time"].to_list()


# a second version of an event (same event key): a fallback the system of record replaces
# (supplier feed -> WMS receipt), or a reservation first placed at an inferred location
twins = st.lists(st.tuples(st.integers(0, 59), st.sampled_from(["fallback", "relocated"]),
                           st.integers(0, 9), st.integers(-30, 30)), max_size=15)


def with_twins(led: pl.DataFrame, tw: list[tuple]) -> pl.DataFrame:
    extra = []
    rows = led.to_dicts()
    for idx, how, qty, shift in tw:
        if idx >= len(rows) or rows[idx]["kind"] == "cycle_count":
            continue
        r = dict(rows[idx])
        r["event_time"] = r["event_time"] + timedelta(minutes=shift)
        r["source_event_id"] = f"{r['source_event_id']}-{how}"
        if how == "fallback":  # lower-priority source, possibly another quantity
            rows[idx]["source"] = "wms"
            r["source"] = "suppliers"
            sign = 1 if r["delta_on_hand"] >= 0 else -1
            r["delta_on_hand"] = sign * qty if r["delta_on_hand"] else 0
        else:  # the same event at an inferred location
            r["location_inferred"] = True
            r["location_id"] = "WH01" if r["location_id"] == "ST001" else "ST001"
        extra.append(r)
    return frame(rows + extra)


@settings(max_examples=80, deadline=None)
@given(events, twins, st.randoms(use_true_random=False), st.integers(1, 6))
def test_any_batching_with_replaced_and_redelivered_events(evs, tw, rnd, n_batches) -> None:
    """Micro-batches in any order and cut, with events that replace an earlier version
    (``supersede`` + retraction) and re-delivered duplicates: the state of one full fold."""
    led = with_twins(ledger_of(evs), tw)
    order = led.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 10_000))
    order = pl.concat([order, order.head(3)])  # re-delivered at the end
    cuts = sorted(rnd.randint(0, order.height) for _ in range(n_batches - 1))
    state = empty_state()
    stored = order.clear()  # the ledger table: one winner per event key (MERGE on event_key)
    for lo, hi in zip([0, *cuts], [*cuts, order.height], strict=True):
        batch = canonical(order.slice(lo, hi - lo))
        fold, retract = supersede(batch, stored)
        state = apply_batch(state, fold, history=stored, retract=retract)
        stored = canonical(pl.concat([stored, fold]))
    full = state_of(led)
    assert cmp(state).equals(cmp(full))
    assert state.sort("product_id", "location_id")["events"].to_list() == full.sort(
        "product_id", "location_id")["events"].to_list()


@settings(max_examples=40, deadline=None)
@given(events, st.randoms(use_true_random=False))
def test_daily_positions_do_not_depend_on_arrival_order(evs, rnd) -> None:
    led = ledger_of(evs)
    shuffled = led.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 10_000))
    a = daily_positions(led, date(2026, 1, 1), date(2026, 1, 4))
    b = daily_positions(pl.concat([shuffled, shuffled.head(4)]), date(2026, 1, 1),
                        date(2026, 1, 4))
    assert a.equals(b)


def test_cycle_count_resets_on_hand_and_records_shrinkage() -> None:
    led = frame([row(1, "receipt", 0, 10), row(2, "sale", 10, 2),
                 row(3, "cycle_count", 20, 5),  # expected 8: 3 units of shrinkage revealed
                 row(4, "sale", 30, 1)])
    run = running(led)
    assert run["on_hand"].to_list() == [10, 8, 5, 4]
    assert run.filter(pl.col("kind") == "cycle_count")["shrinkage"].item() == -3
    pos = positions(led)
    assert pos["on_hand"].item() == 4 and pos["shrinkage"].item() == -3


def test_a_late_event_before_a_count_is_absorbed_by_it() -> None:
    """A sale that happened before a count is already inside the counted quantity."""
    early = frame([row(1, "receipt", 0, 10), row(3, "cycle_count", 20, 7)])
    late = frame([row(2, "sale", 10, 3)])
    state = apply_batch(state_of(early), late, history=early)
    assert state["on_hand"].item() == 7
    assert positions(pl.concat([early, late]))["shrinkage"].item() == 0


def test_a_late_count_refolds_only_from_the_count() -> None:
    first = frame([row(1, "receipt", 0, 10), row(2, "sale", 30, 2)])
    late_count = frame([row(3, "cycle_count", 20, 6)])
    state = apply_batch(state_of(first), late_count, history=first)
    assert state["on_hand"].item() == 4  # counted 6, then the later sale of 2


def test_a_count_at_the_instant_of_folded_events_comes_before_them() -> None:
    """Found by the batching property: a count landing later at the same instant as events
    already folded is the state before them, not after."""
    first = frame([row(1, "receipt", 0, 1)])
    count = frame([row(2, "cycle_count", 0, 0)])
    state = apply_batch(state_of(first), count, history=first)
    assert state["on_hand"].item() == 1 == state_of(pl.concat([first, count]))["on_hand"].item()


def test_reservation_lifecycle() -> None:
    led = frame([row(1, "receipt", 0, 5), row(2, "reserve", 10, 2), row(3, "reserve", 11, 1),
                 row(4, "release", 20, 1), row(5, "pick", 60, 2)])
    run = running(led)
    assert run["reserved"].to_list() == [0, 2, 3, 2, 0]
    assert run["on_hand"].to_list() == [5, 5, 5, 5, 3]
    mid = positions(led, as_of=T0 + timedelta(minutes=15))
    assert (mid["on_hand"].item(), mid["reserved"].item(),
            mid["available_to_promise"].item()) == (5, 3, 2)


def test_as_of_reads_the_past() -> None:
    led = frame([row(1, "receipt", 0, 5), row(2, "sale", 24 * 60, 2)])
    assert positions(led, as_of=T0 + timedelta(hours=1))["on_hand"].item() == 5
    assert positions(led)["on_hand"].item() == 3
    assert positions(led, as_of=T0 - timedelta(hours=1)).is_empty()
    assert date(2026, 1, 1) == led["business_day"][0]


@settings(max_examples=40, deadline=None)
@given(events, st.randoms(use_true_random=False))
def test_a_canonical_ledger_is_returned_as_is_and_anything_else_is_sorted(evs, rnd) -> None:
    led = canonical(ledger_of(evs))
    again = canonical(led)
    assert again is led  # what canonical made: not sorted again
    # every frame derived from it is a new object, canonicalised in full
    shuffled = led.sample(fraction=1.0, shuffle=True, seed=rnd.randint(0, 10_000))
    redelivered = pl.concat([shuffled, led.head(3)])
    for other in (shuffled, redelivered, led.reverse()):
        got = canonical(other)
        assert got is not other and got.equals(led)
