"""Synthetic demand histories for the forecast unit tests (a plain module, not a conftest)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl

from lakehouse.forecast.history import HISTORY_SCHEMA

START = date(2026, 1, 5)  # a Monday
WEEKDAY = (0.8, 0.8, 0.9, 0.9, 1.1, 1.6, 0.9)  # Mon..Sun, mean 1.0


def synthetic(products: int = 20, locations: tuple[str, ...] = ("S1", "S2", "W1"),
              days: int = 70, rate: float = 0.5, weekday: tuple[float, ...] = WEEKDAY,
              promo: dict[int, float] | None = None, lift_per_point: float = 0.03,
              stockouts: dict[tuple[int, str], range] | None = None, seed: int = 0,
              start: date = START) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``(history, truth)``: Poisson demand per product x location x day with a weekday profile
    and product rates spread around ``rate``; ``promo`` maps day index -> discount (every key);
    ``stockouts`` maps (product index, location) -> day indexes with nothing on the shelf (sold
    0, censored). ``history`` has ``demand_history``'s columns (demand = sold, not imputed);
    ``truth`` has ``product_id, location_id, date, demanded`` (rows with demand > 0)."""
    rng = np.random.default_rng(seed)
    promo = promo or {}
    stockouts = stockouts or {}
    prod_rate = rate * rng.gamma(4.0, 0.25, products)
    rows, truth = [], []
    for p in range(products):
        for loc in locations:
            out = stockouts.get((p, loc), range(0))
            for t in range(days):
                day = start + timedelta(days=t)
                disc = promo.get(t, 0.0)
                mu = prod_rate[p] * weekday[day.weekday()] * (1 + lift_per_point * disc)
                demanded = int(rng.poisson(mu))
                stocked = t not in out
                sold = demanded if stocked else 0
                rows.append((f"P{p:03d}", loc, day, sold, stocked, not stocked, float(sold),
                             disc, 10.0 + p))
                if demanded:
                    truth.append((f"P{p:03d}", loc, day, demanded))
    history = pl.DataFrame(rows, schema=HISTORY_SCHEMA, orient="row")
    truth_df = pl.DataFrame(truth, schema={"product_id": pl.String, "location_id": pl.String,
                                           "date": pl.Date, "demanded": pl.Int64}, orient="row")
    return history, truth_df
