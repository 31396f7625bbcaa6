"""True stock per (product, location): on hand and reserved, never negative.

On hand changes by receipts, transfers, picks (online orders: reserved at order, picked at
shipment, released at cancel), store sales, return restocks, recorded adjustments and
unrecorded shrinkage that only cycle counts reveal. The policy (reorder points) lives here too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Stock:
    on_hand: np.ndarray  # (products, locations) int64
    reserved: np.ndarray
    inbound: np.ndarray  # units on open purchase orders / transfers, per destination
    reorder_point: np.ndarray
    order_up_to: np.ndarray
    demanded: np.ndarray = field(init=False)
    sold: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.reset_day()

    def reset_day(self) -> None:
        self.demanded = np.zeros_like(self.on_hand)
        self.sold = np.zeros_like(self.on_hand)

    def available(self, p: int, loc: int) -> int:
        return int(self.on_hand[p, loc] - self.reserved[p, loc])

    def take(self, p: int, loc: int, qty: int) -> int:
        """Sell from the shelf (store): returns units sold, the rest is lost demand."""
        self.demanded[p, loc] += qty
        got = min(qty, max(0, self.available(p, loc)))
        if got:
            self.on_hand[p, loc] -= got
            self.sold[p, loc] += got
        return got

    def reserve(self, p: int, loc: int, qty: int) -> int:
        """Reserve for an online order: returns units reserved, the rest is lost demand."""
        self.demanded[p, loc] += qty
        got = min(qty, max(0, self.available(p, loc)))
        if got:
            self.reserved[p, loc] += got
            self.sold[p, loc] += got
        return got

    def release(self, p: int, loc: int, qty: int) -> None:
        self.reserved[p, loc] -= qty
        self.sold[p, loc] -= qty

    def pick(self, p: int, loc: int, qty: int) -> None:
        self.reserved[p, loc] -= qty
        self.on_hand[p, loc] -= qty

    def add(self, p: int, loc: int, qty: int) -> None:
        self.on_hand[p, loc] += qty

    def remove(self, p: int, loc: int, qty: int) -> int:
        """Recorded removal (transfer out, write-off adjustment), bounded by the free units."""
        got = min(qty, max(0, self.available(p, loc)))
        self.on_hand[p, loc] -= got
        return got


def initial_stock(expected_daily: np.ndarray, lead_days: np.ndarray, is_store: np.ndarray,
                  live: np.ndarray) -> Stock:
    """Reorder points from expected demand: cover lead time plus a safety margin.

    ``expected_daily`` is (products, locations) mean units/day; warehouses cover lead time,
    stores a few days between transfers. ``live`` masks products on sale at the start.
    """
    cover_rp = np.where(is_store[None, :], 3.0, lead_days[:, None] + 4.0)
    cover_up = np.where(is_store[None, :], 8.0, lead_days[:, None] + 14.0)
    rp = np.ceil(expected_daily * cover_rp).astype(np.int64) + 1
    up = np.ceil(expected_daily * cover_up).astype(np.int64) + 3
    on_hand = np.where(live[:, None], up, 0).astype(np.int64)
    z = np.zeros_like(on_hand)
    return Stock(on_hand=on_hand, reserved=z.copy(), inbound=z.copy(), reorder_point=rp,
                 order_up_to=up)
