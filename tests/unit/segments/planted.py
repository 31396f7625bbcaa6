"""Customer feature frames with planted behaviour groups (the mart's columns, made up here),
so a test knows which segment each person should land in."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import polars as pl

AS_OF = datetime(2026, 3, 1, tzinfo=UTC)

# planted group -> persons in it (their features: _person)
GROUPS = {
    "dormant": 120,
    "browsers": 80,
    "store": 100,
    "vip": 50,
    "lapsed": 90,
}


def _person(group: str, rng: np.random.Generator) -> dict:
    row = {"recency_days": None, "tenure_days": None, "frequency": 0, "monetary": 0.0,
           "avg_order_value": None, "share_web": None, "share_app": None,
           "share_store": None, "affinity_toys": None, "affinity_garden": None,
           "returns": 0, "return_rate": None, "events_30d": 0, "sessions_30d": 0,
           "days_since_last_visit": None, "emails_delivered": 4, "emails_opened": 0,
           "email_open_rate": 0.0, "email_unsubscribed": False}
    if group == "browsers":
        row.update(sessions_30d=int(rng.integers(6, 12)), events_30d=int(rng.integers(40, 90)),
                   days_since_last_visit=float(rng.uniform(0, 3)))
    elif group != "dormant":
        n = {"store": (2, 4), "vip": (9, 14), "lapsed": (1, 3)}[group]
        frequency = int(rng.integers(*n))
        aov = float(rng.uniform(*{"store": (40, 60), "vip": (150, 220),
                                  "lapsed": (40, 60)}[group]))
        shares = {"store": (0.0, 0.0, 1.0), "vip": (0.4, 0.3, 0.3),
                  "lapsed": (1.0, 0.0, 0.0)}[group]
        recency = float(rng.uniform(*{"store": (1, 10), "vip": (0, 5),
                                      "lapsed": (45, 60)}[group]))
        toys = float(rng.uniform(0, 1))
        row.update(recency_days=recency, tenure_days=recency + float(rng.uniform(0, 30)),
                   frequency=frequency, monetary=frequency * aov, avg_order_value=aov,
                   share_web=shares[0], share_app=shares[1], share_store=shares[2],
                   affinity_toys=toys, affinity_garden=1 - toys, return_rate=0.0,
                   sessions_30d=int(group == "vip") * int(rng.integers(2, 5)),
                   events_30d=int(group == "vip") * int(rng.integers(10, 30)),
                   days_since_last_visit=None if group == "store" else recency)
    return row


def planted_features(seed: int = 0, groups: dict[str, int] = GROUPS) -> pl.DataFrame:
    """A feature frame and a ``group`` column (the planted truth), one row per person."""
    rng = np.random.default_rng(seed)
    rows = []
    for group, n in groups.items():
        for i in range(n):
            rows.append({"person_id": f"P{group}{i:04d}", "as_of": AS_OF, "group": group,
                         **_person(group, rng)})
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(
        pl.col("as_of").cast(pl.Datetime("us", "UTC")))
