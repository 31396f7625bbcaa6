"""Monitors beyond the contract, as pure statistics: increment volume and feature drift.

A contract (the GX suites) says what every row must be; these say whether a table behaves as
it used to: an increment far larger or smaller than the table's own history of increments, a
feature whose distribution moved since the last validated version. They warn, they do not block.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import polars as pl

# ---------------------------------------------------------------------------------------------
# Volume: an increment's row count against the history of increments of the same table
# ---------------------------------------------------------------------------------------------

MIN_HISTORY = 5  # fewer earlier non-empty increments: not enough history to judge
MAD_K = 4.0  # half-width of the band in robust standard deviations (1.4826 * MAD)
# The band is never narrower than a factor of 2 either way: with a steady feed the MAD is ~0
# and every small wobble would warn.
MIN_LOG_HALF_WIDTH = math.log(2.0)


@dataclass(frozen=True)
class VolumeVerdict:
    passed: bool
    reason: str
    value: int
    history: int  # points the band was computed from
    median: float | None = None
    lower: float | None = None
    upper: float | None = None


def volume_verdict(value: int, history: list[int], k: float = MAD_K,
                   min_history: int = MIN_HISTORY) -> VolumeVerdict:
    """Is ``value`` (rows this increment appended) within the band of earlier increments?

    Row counts are multiplicative (a busy day is twice a quiet one), so the band is a median
    +- k robust deviations on log(1 + rows). Empty increments (nothing new landed) are neither
    judged nor history: missing data is the freshness check's business.
    """
    points = [int(v) for v in history if v and v > 0]
    if value <= 0:
        return VolumeVerdict(True, "no rows appended by this increment: nothing to judge",
                             value, len(points))
    if len(points) < min_history:
        return VolumeVerdict(True, f"not enough history: {len(points)} earlier non-empty "
                             f"increment(s), {min_history} needed", value, len(points))
    logs = np.log1p(np.asarray(points, dtype=float))
    center = float(np.median(logs))
    mad = float(np.median(np.abs(logs - center)))
    half = max(k * 1.4826 * mad, MIN_LOG_HALF_WIDTH)
    lower, upper = math.expm1(center - half), math.expm1(center + half)
    median = math.expm1(center)
    passed = lower <= value <= upper
    if passed:
        reason = (f"{value} rows, within [{lower:.0f}, {upper:.0f}] (median {median:.0f} over "
                  f"{len(points)} earlier increments)")
    else:
        side = "above" if value > upper else "below"
        reason = (f"{value} rows, {side} the expected [{lower:.0f}, {upper:.0f}] (median "
                  f"{median:.0f} over {len(points)} earlier increments)")
    return VolumeVerdict(passed, reason, value, len(points), median, lower, upper)


_BARS = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float]) -> str:
    """A one-line plot of a series (log scale, so one huge backfill does not flatten it)."""
    if not values:
        return ""
    logs = [math.log1p(max(v, 0)) for v in values]
    low, high = min(logs), max(logs)
    span = (high - low) or 1.0
    return "".join(_BARS[round((v - low) / span * (len(_BARS) - 1))] for v in logs)


# ---------------------------------------------------------------------------------------------
# Drift: each feature column of a table version against an earlier (validated) version
# ---------------------------------------------------------------------------------------------

PSI_THRESHOLD = 0.2  # population stability index: < 0.1 stable, 0.1-0.2 moderate, > 0.2 drift
BINS = 10
TOP_CATEGORIES = 20
_EPS = 1e-4  # share given to an empty bin, so the log ratio stays finite
_NULL = "(null)"


def _psi(expected: np.ndarray, actual: np.ndarray) -> float:
    e = np.clip(expected, _EPS, None)
    a = np.clip(actual, _EPS, None)
    e, a = e / e.sum(), a / a.sum()
    return float(np.sum((a - e) * np.log(a / e)))


def psi_numeric(reference: pl.Series, current: pl.Series, bins: int = BINS) -> float:
    """PSI over the reference's quantile bins, with nulls as a bin of their own."""
    ref = reference.cast(pl.Float64)
    cur = current.cast(pl.Float64)
    ref_values = ref.drop_nulls().drop_nans().to_numpy()
    cur_values = cur.drop_nulls().drop_nans().to_numpy()
    if len(ref) == 0 or len(cur) == 0:
        return 0.0
    if len(ref_values):
        edges = np.unique(np.quantile(ref_values, np.linspace(0, 1, bins + 1)[1:-1]))
    else:
        edges = np.array([])
    ref_counts = np.bincount(np.searchsorted(edges, ref_values, side="right"),
                             minlength=len(edges) + 1)
    cur_counts = np.bincount(np.searchsorted(edges, cur_values, side="right"),
                             minlength=len(edges) + 1)
    expected = np.append(ref_counts, len(ref) - len(ref_values)) / len(ref)
    actual = np.append(cur_counts, len(cur) - len(cur_values)) / len(cur)
    return _psi(expected, actual)


def ks_statistic(reference: pl.Series, current: pl.Series) -> float:
    """Two-sample Kolmogorov-Smirnov D (largest gap between the empirical CDFs), non-nulls."""
    a = np.sort(reference.cast(pl.Float64).drop_nulls().drop_nans().to_numpy())
    b = np.sort(current.cast(pl.Float64).drop_nulls().drop_nans().to_numpy())
    if len(a) == 0 or len(b) == 0:
        return 0.0
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


def psi_categorical(reference: pl.Series, current: pl.Series,
                    top: int = TOP_CATEGORIES) -> float:
    """PSI over category shares: the reference's most common categories, the rest as one
    ``(other)`` bucket (new categories land there), nulls as a category of their own."""
    if len(reference) == 0 or len(current) == 0:
        return 0.0
    ref = reference.cast(pl.String).fill_null(_NULL)
    cur = current.cast(pl.String).fill_null(_NULL)
    ref_counts = _counts(ref)
    keep = sorted(ref_counts, key=lambda c: (-ref_counts[c], c))[:top]

    def shares(counts: dict[str, int], total: int) -> np.ndarray:
        kept = [counts.get(c, 0) for c in keep]
        return np.array([*kept, total - sum(kept)], dtype=float) / total

    return _psi(shares(ref_counts, len(ref)), shares(_counts(cur), len(cur)))


def _counts(s: pl.Series) -> dict[str, int]:
    vc = s.rename("value").value_counts(name="n")
    return dict(zip(vc["value"].to_list(), vc["n"].to_list(), strict=True))


@dataclass(frozen=True)
class ColumnDrift:
    column: str
    kind: str  # "numeric" | "categorical" | "skipped"
    psi: float | None
    ks: float | None
    threshold: float
    drifted: bool
    note: str = ""


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_numeric():
        return "numeric"
    if dtype.is_temporal():
        return "temporal"
    return "categorical"


def feature_drift(reference: pl.DataFrame, current: pl.DataFrame,
                  skip: dict[str, str] | None = None,
                  threshold: float = PSI_THRESHOLD) -> list[ColumnDrift]:
    """Drift of every column of ``current`` against ``reference``: PSI (numeric over quantile
    bins, with KS D alongside; categorical over category shares). Columns in ``skip`` (column
    -> why) and time stamps (they move with the cut-off by design) are listed, not judged; a
    column new in ``current`` is listed as drifted."""
    skip = skip or {}
    out = []
    for column in current.columns:
        dtype = current.schema[column]
        if column in skip:
            out.append(ColumnDrift(column, "skipped", None, None, threshold, False,
                                   skip[column]))
            continue
        kind = _kind(dtype)
        if kind == "temporal":
            out.append(ColumnDrift(column, "skipped", None, None, threshold, False,
                                   "time stamp: moves with the cut-off by design"))
            continue
        if column not in reference.columns:
            out.append(ColumnDrift(column, kind, None, None, threshold, True,
                                   "new column: not in the reference version"))
            continue
        ref, cur = reference[column], current[column]
        if kind == "numeric":
            psi = psi_numeric(ref, cur)
            ks = ks_statistic(ref, cur)
        else:
            psi, ks = psi_categorical(ref, cur), None
            kind = "categorical"
        out.append(ColumnDrift(column, kind, round(psi, 4),
                               None if ks is None else round(ks, 4), threshold, psi > threshold))
    return out


def drift_markdown(rows: list[ColumnDrift]) -> str:
    lines = ["| column | kind | PSI | KS D | threshold (PSI) | drifted | note |",
             "| --- | --- | ---: | ---: | ---: | --- | --- |"]
    for r in rows:
        psi = "" if r.psi is None else f"{r.psi:.4f}"
        ks = "" if r.ks is None else f"{r.ks:.4f}"
        lines.append(f"| `{r.column}` | {r.kind} | {psi} | {ks} | {r.threshold} | "
                     f"{'**yes**' if r.drifted else 'no'} | {r.note} |")
    return "\n".join(lines)
