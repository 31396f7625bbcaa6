"""The assortment: products with every system's code, prices, quality, popularity, suppliers.

Quality drives return rates and review ratings; popularity (Zipf-like) and the category's
yearly and weekend seasonality drive demand.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from lakehouse.simulate import names
from lakehouse.simulate.config import SimConfig
from lakehouse.simulate.dice import Dice

CATEGORY_NAMES = tuple(names.CATEGORIES)


@dataclass
class Supplier:
    sid: str
    name: str
    country: str
    lead_days: int
    on_time: float  # probability a delivery arrives by the promised date
    mean_delay: float  # mean days late when late


@dataclass
class Catalog:
    ids: list[str]
    titles: list[str]
    brands: list[str]
    category: np.ndarray  # category index
    subcategory: list[str]
    price: np.ndarray
    cost: np.ndarray
    supplier: np.ndarray  # supplier index
    variant: list[str]
    pos_sku: list[str]
    wms_code: list[str]
    launched: np.ndarray  # epoch day of launch
    discontinued: np.ndarray  # bool
    quality: np.ndarray  # 0..1
    popularity: np.ndarray  # relative weight within category
    suppliers: list[Supplier]

    def __len__(self) -> int:
        return len(self.ids)


def build_catalog(cfg: SimConfig, rng: np.random.Generator, d: Dice, start_eday: int) -> Catalog:
    n = cfg.products
    n_sup = max(3, n // 25)
    suppliers = []
    for i in range(n_sup):
        suppliers.append(Supplier(
            sid=f"SUP-{i + 1:03d}",
            name=f"{d.pick(names.SUPPLIER_WORDS)} {d.pick(names.BRANDS)} Supply",
            country=d.pick(names.SUPPLIER_COUNTRIES),
            lead_days=d.between(3, 12),
            on_time=float(rng.uniform(0.45, 0.97)),
            mean_delay=float(rng.uniform(1.0, 5.0)),
        ))
    cats = np.arange(n) % len(CATEGORY_NAMES)
    rng.shuffle(cats)
    med = np.array([names.CATEGORIES[CATEGORY_NAMES[c]][1] for c in cats])
    price = np.round(med * rng.lognormal(0.0, 0.45, n), 0) - 0.01
    price = np.maximum(price, 2.99)
    cost = np.round(price * rng.uniform(0.35, 0.65, n), 2)
    quality = rng.beta(5.0, 1.8, n)
    pop = rng.pareto(1.2, n) + 0.2
    launched = start_eday - rng.integers(30, 900, n)
    late_launch = rng.random(n) < 0.05
    late_launch[0] = False  # something is always on sale
    launched[late_launch] = start_eday + rng.integers(1, max(2, cfg.days), late_launch.sum())
    discontinued = (rng.random(n) < 0.04) & ~late_launch
    variants = rng.choice(9 * 10**9, size=n, replace=False) + 4 * 10**10
    skus = rng.choice(900_000, size=n, replace=False) + 100_000
    ids, titles, brands, subs, var, sku, wms = [], [], [], [], [], [], []
    for i in range(n):
        cat = CATEGORY_NAMES[cats[i]]
        sub = d.pick(names.CATEGORIES[cat][0])
        brand = d.pick(names.BRANDS)
        ids.append(f"PRD-{i + 1:05d}")
        titles.append(f"{brand} {d.pick(names.ADJECTIVES)} {sub.rstrip('s').title()}")
        brands.append(brand)
        subs.append(sub)
        var.append(str(int(variants[i])))
        sku.append(str(int(skus[i])))
        wms.append(f"{cat[:3].upper()}-{d.hex(6).upper()}")
    return Catalog(ids, titles, brands, cats, subs, price, cost,
                   rng.integers(0, n_sup, n), var, sku, wms, launched, discontinued, quality,
                   pop, suppliers)


def season_weights(eday: int) -> np.ndarray:
    """Yearly demand multiplier per category for one day (cosine around the peak day)."""
    doy = (dt.date(1970, 1, 1) + dt.timedelta(days=eday)).timetuple().tm_yday
    out = np.empty(len(CATEGORY_NAMES))
    for i, c in enumerate(CATEGORY_NAMES):
        _, _, amp, peak, _ = names.CATEGORIES[c]
        out[i] = 1.0 + amp * math.cos(2 * math.pi * (doy - peak) / 365.0)
    return out


def weekend_lift() -> np.ndarray:
    return np.array([names.CATEGORIES[c][4] for c in CATEGORY_NAMES])
