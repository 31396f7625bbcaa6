"""Simulation knobs and the run summary: plain frozen dataclasses, no behaviour."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field


@dataclass(frozen=True)
class SimConfig:
    """Size, seed and every fault knob of a simulated retailer (each fault knob can be 0)."""

    persons: int = 2000
    products: int = 200
    stores: int = 4
    warehouses: int = 2
    days: int = 60
    start: dt.date = dt.date(2026, 1, 1)
    seed: int = 42
    # identity
    duplicate_share: float = 0.40  # share of customer records (accounts + loyalty) of a person
    #                                who already has another record
    household_share: float = 0.30  # share of persons living in a multi-person household
    shared_device_share: float = 0.30  # share of multi-person households with a shared device/card
    typo_rate: float = 0.05  # chance a hand-typed name / address / e-mail carries a typo
    guest_share: float = 0.25  # share of online orders checked out as guest
    cookie_reset_rate: float = 0.02  # chance per web visit that the browser lost its cookie
    # delivery
    late_rate: float = 0.03  # share of records that arrive 1..max_late_days days late
    max_late_days: int = 3
    duplicate_rate: float = 0.01  # share of records delivered again in a later file
    malformed_rate: float = 0.005  # share of records that also arrive as a corrupted extra copy
    clock_skew_share: float = 0.05  # share of app devices whose clock is off
    schema_change_day: int | None = 30  # day index: web `consent`, app `pushOptIn` appear
    # world
    shrinkage_rate: float = 0.002  # daily share of on-hand units lost unrecorded (theft, damage)
    cycle_count_share: float = 0.05  # share of (product, location) counted each day
    cancel_rate: float = 0.03  # share of online orders cancelled before shipping
    sessions_per_person_day: float = 0.12  # mean organic shopping sessions per person per day
    promo_lift_per_pct: float = 0.03  # demand multiplier per discount point (20% off -> x1.6)
    ad_effect: float = 1.5  # purchase-probability lift right after an ad click
    ad_decay_days: float = 3.0
    email_effect: float = 0.8  # lift right after an e-mail open
    email_decay_days: float = 5.0

    def __post_init__(self) -> None:
        for name in ("persons", "products", "stores", "warehouses", "days"):
            if getattr(self, name) < 1:
                raise ValueError(f"SimConfig.{name} must be >= 1")
        for name in ("duplicate_share", "household_share", "shared_device_share", "typo_rate",
                     "guest_share", "late_rate", "duplicate_rate", "malformed_rate",
                     "clock_skew_share", "shrinkage_rate", "cycle_count_share", "cancel_rate",
                     "cookie_reset_rate"):
            v = getattr(self, name)
            if not 0.0 <= v < 1.0:
                raise ValueError(f"SimConfig.{name} must be in [0, 1), got {v}")
        if self.max_late_days < 1 and self.late_rate > 0:
            raise ValueError("SimConfig.max_late_days must be >= 1 when late_rate > 0")


@dataclass
class SimSummary:
    """What a run wrote: files, rows per channel, events (data rows) in total, wall seconds."""

    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    events: int = 0
    seconds: float = 0.0
    days: int = 0

    def describe(self) -> str:
        """Several lines for a terminal: totals, then rows per channel."""
        rate = self.events / self.seconds if self.seconds else 0.0
        lines = [f"simulated {self.days} days: {self.events:,} rows in {self.files} files, "
                 f"{self.seconds:.1f}s ({rate:,.0f} rows/s)"]
        lines += [f"  {k:<11}{v:>10,}" for k, v in sorted(self.rows.items())]
        return "\n".join(lines)

    def __str__(self) -> str:
        per = ", ".join(f"{k}={v}" for k, v in sorted(self.rows.items()))
        rate = self.events / self.seconds if self.seconds else 0.0
        return (f"{self.events} events in {self.files} files over {self.days} days, "
                f"{self.seconds:.1f}s ({rate:,.0f} events/s): {per}")
