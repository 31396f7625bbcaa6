"""The clustering matrix: the customer feature mart's numeric columns, made comparable.

Rules, in order, per numeric (or boolean) column of the mart other than the key and ``as_of``:

1. Nulls mean "never": a "days since" column (``recency_days``, ``days_since_*``) takes the
   column's largest value (as long ago as the longest gone), every other column 0 (no tenure,
   no share of spend, no returns). Columns counted up to the cut (``as_of`` minus an event
   time: the "days since" columns and ``tenure_days``) are measured from their smallest value,
   so the clustering does not depend on when the mart was cut, only on the events.
2. A column whose values all lie in [0, 1] is a share or a flag and is kept as it is; any
   other non-negative column is a count, an amount or a duration, skewed with a long right
   tail, and is taken as log1p so a handful of big spenders do not own the scale.
3. z-score (mean 0, standard deviation 1); a constant column carries no information and is
   dropped (windowed counts are all 0 when the cutoff is long after the last event). z is
   clipped to [-5, 5] so that one extreme customer cannot pull a centroid of its own.
4. Columns are grouped in blocks (recency, value, channel, category, returns, browsing, email,
   other: by name, see :func:`block`) and each column is divided by sqrt(block size), so every
   block weighs the same in Euclidean distance: twelve category affinities do not outvote
   recency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

KEY = "person_id"
EXCLUDED = {KEY, "as_of", "label_time"}
Z_CLIP = 5.0

_BLOCKS = (  # (block, name test): the first match wins
    ("category", lambda c: c.startswith("affinity_")),
    ("channel", lambda c: c.startswith("share_")),
    ("email", lambda c: c.startswith(("email_", "emails_"))),
    ("browsing", lambda c: c.startswith(("events_", "sessions_", "days_since_last_visit"))),
    ("returns", lambda c: c.startswith("return") or c in {"units_returned", "refund_total"}),
    ("recency", lambda c: c in {"recency_days", "tenure_days"}),
    ("value", lambda c: c in {"frequency", "avg_order_value"}
     or c.startswith(("orders_", "monetary"))),
)


def block(column: str) -> str:
    """The block a feature column belongs to (``other`` when no rule names it)."""
    return next((name for name, test in _BLOCKS if test(column)), "other")


def is_days_since(column: str) -> bool:
    return column == "recency_days" or column.startswith("days_since")


def counts_to_cut(column: str) -> bool:
    """``as_of`` minus an event time: shifts with the cut, not with the data."""
    return is_days_since(column) or column == "tenure_days"


@dataclass(frozen=True)
class Matrix:
    """Rows in ``person_ids`` order; ``columns`` name the matrix columns; ``clean`` is the
    imputed feature frame (raw units) the profiles are computed from."""

    person_ids: pl.Series
    values: np.ndarray
    columns: tuple[str, ...]
    clean: pl.DataFrame


def numeric_columns(features: pl.DataFrame) -> list[str]:
    return [c for c, t in features.schema.items()
            if c not in EXCLUDED and (t.is_numeric() or t == pl.Boolean)]


def impute(features: pl.DataFrame) -> pl.DataFrame:
    """Rule 1: nulls (and NaN) filled as "never", columns as Float64, rows by person id.

    Known gap: k-means++ starts from rows picked by position, so two lakes whose identity
    labelled the same persons differently (DESIGN rule 1 allows it) can cluster differently;
    ordering rows by their features instead lost the planted groups of the tests (k-means
    found worse optima from those starts), so it waits for a sturdier fit."""
    cols = numeric_columns(features)
    out = features.select(KEY, *[pl.col(c).cast(pl.Float64).fill_nan(None) for c in cols])
    fills = [pl.col(c).fill_null(pl.col(c).max() if is_days_since(c) else 0.0).fill_null(0.0)
             for c in cols]
    return out.with_columns(fills).sort(KEY)


def build_matrix(features: pl.DataFrame) -> Matrix:
    """Rules 1-4 applied to a customer feature frame (one row per person)."""
    clean = impute(features)
    cols = [c for c in clean.columns if c != KEY]
    values = clean.select(cols).to_numpy().astype(np.float64)
    if values.size:
        to_cut = np.array([counts_to_cut(c) for c in cols])
        values[:, to_cut] -= values[:, to_cut].min(axis=0)
        bounded = (values.min(axis=0) >= 0) & (values.max(axis=0) <= 1)
        positive = values.min(axis=0) >= 0
        values = np.where(~bounded & positive, np.log1p(np.clip(values, 0, None)), values)
    std = values.std(axis=0) if values.size else np.zeros(len(cols))
    keep = std > 1e-12
    kept = [c for c, k in zip(cols, keep, strict=True) if k]
    z = (values[:, keep] - values[:, keep].mean(axis=0)) / std[keep]
    z = np.clip(z, -Z_CLIP, Z_CLIP)
    blocks = [block(c) for c in kept]
    sizes = {b: blocks.count(b) for b in blocks}
    weights = np.array([1.0 / np.sqrt(sizes[b]) for b in blocks])
    return Matrix(clean[KEY], z * weights, tuple(kept), clean)
