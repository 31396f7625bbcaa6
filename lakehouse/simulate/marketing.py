"""Promotions calendar, ad and e-mail campaigns, and the true effect of each touch.

A touch lifts the person's purchase probability by ``1 + effect * exp(-age_days / decay)``
(per channel, latest touch); organic and direct visits are the baseline (effect 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lakehouse.simulate.config import SimConfig
from lakehouse.simulate.dice import Dice
from lakehouse.simulate.products import CATEGORY_NAMES

PROMO_HORIZON_DAYS = 400  # calendar covers the batch run and a long live run


@dataclass(frozen=True)
class Promotion:
    promo_id: str
    name: str
    category: int  # -1 = all categories
    discount_pct: float
    start: int  # epoch day
    end: int  # inclusive
    channels: tuple[str, ...]
    code: str


@dataclass(frozen=True)
class AdCampaign:
    campaign_id: str
    network: str
    ad_groups: tuple[str, ...]
    cpc: float
    ctr: float
    category: int


def build_promotions(cfg: SimConfig, d: Dice, start_eday: int) -> list[Promotion]:
    promos = []
    day = start_eday + d.between(2, 6)
    i = 0
    while day < start_eday + PROMO_HORIZON_DAYS:
        i += 1
        sitewide = d.chance(0.15)
        cat = -1 if sitewide else d.below(len(CATEGORY_NAMES))
        disc = float(5 * d.between(2, 8))
        length = d.between(3, 7)
        chans = d.pick((("web", "app", "store"), ("web", "app", "store"), ("web", "app"),
                        ("store",), ("app",)))
        label = "Sitewide" if sitewide else CATEGORY_NAMES[cat].title()
        code = f"{label.upper()[:6]}{int(disc)}" if ("web" in chans or "app" in chans) else ""
        promos.append(Promotion(f"PROMO-{i:04d}", f"{label} {int(disc)}% off", cat, disc, day,
                                day + length - 1, chans, code))
        day += length + d.between(2, 8)
    return promos


def promo_table(promos: list[Promotion], eday: int, channel: str) -> tuple[np.ndarray, list]:
    """Discount % per category active on ``eday`` for ``channel`` and the promo per category."""
    disc = np.zeros(len(CATEGORY_NAMES))
    which: list[Promotion | None] = [None] * len(CATEGORY_NAMES)
    for p in promos:
        if p.start <= eday <= p.end and channel in p.channels:
            cats = range(len(CATEGORY_NAMES)) if p.category < 0 else (p.category,)
            for c in cats:
                if p.discount_pct > disc[c]:
                    disc[c] = p.discount_pct
                    which[c] = p
    return disc, which


def build_ad_campaigns(d: Dice) -> list[AdCampaign]:
    out = []
    nets = (("search", 1.10, 0.045), ("search", 0.85, 0.05), ("social", 0.55, 0.012),
            ("social", 0.60, 0.010), ("display", 0.35, 0.004), ("display", 0.30, 0.005))
    for i, (net, cpc, ctr) in enumerate(nets):
        cat = d.below(len(CATEGORY_NAMES))
        groups = tuple(f"{CATEGORY_NAMES[cat]}-{g}" for g in ("broad", "exact", "retarget"))
        out.append(AdCampaign(f"cmp-{net[:3]}-{i + 1:02d}", net, groups, cpc, ctr, cat))
    return out


def touch_lift(age_days: np.ndarray, effect: float, decay: float) -> np.ndarray:
    """True lift of one channel's latest touch (age may be inf: never touched)."""
    if effect == 0:
        return np.zeros_like(age_days)
    with np.errstate(over="ignore", invalid="ignore"):
        out = effect * np.exp(-np.maximum(age_days, 0.0) / decay)
    return np.nan_to_num(out, nan=0.0)


def touch_lift_one(age_days: float, effect: float, decay: float) -> float:
    if effect == 0 or math.isinf(age_days):
        return 0.0
    return effect * math.exp(-max(age_days, 0.0) / decay)
