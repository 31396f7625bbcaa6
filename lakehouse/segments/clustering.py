"""k-means on the clustering matrix, with k chosen by silhouette, deterministically.

- Fit: ``scipy.cluster.vq.kmeans2`` (k-means++ seeding, then Lloyd steps ``STEP`` at a time
  until the labels stop changing, at most ``ITERATIONS``: kmeans2 alone always runs all its
  iterations), restarted ``RESTARTS`` times from seeds derived from ``seed``; the fit with the
  lowest inertia wins.
  The rows are sorted by person id before (``lakehouse.segments.matrix``), so the same
  features and seed give the same clusters, whatever the order the frame came in.
- Choice of k (when not given): every k in ``K_RANGE`` is fitted and scored by its mean
  silhouette on a fixed sample of at most ``SILHOUETTE_SAMPLE`` rows (drawn once, with the
  seed, and shared by every k); the best silhouette wins, the smaller k on a tie.
- Many rows: past ``FIT_SAMPLE`` rows the k search fits on a fixed sample of that many rows
  (every row is then labelled by its nearest centroid for the silhouette and the size rule),
  and only the chosen k is refined by Lloyd steps over every row. Fitting all six k four
  times over every row made segmentation grow faster than the data (5.5 s at 1M simulated
  events, 71.5 s at 10M: more rows take more steps to settle); below ``FIT_SAMPLE`` rows
  nothing changes. A k whose
  smallest cluster holds less than ``MIN_SHARE`` of the persons is not eligible: a segment of
  a dozen people is an outlier report, not something to run a campaign on (if no k is
  eligible, the best silhouette wins anyway).
- Labels: clusters are numbered by size, largest first (ties by centroid), so cluster 0 is
  the biggest segment and the numbering is not an artefact of the seeding; empty clusters
  are dropped.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.cluster.vq import kmeans2, vq
from scipy.spatial.distance import cdist

K_RANGE = range(3, 9)
RESTARTS = 4
ITERATIONS = 60
STEP = 5
SILHOUETTE_SAMPLE = 2000
FIT_SAMPLE = 20_000
MIN_SHARE = 0.02


@dataclass(frozen=True)
class Fit:
    k: int
    labels: np.ndarray  # cluster per row, 0 = largest
    centroids: np.ndarray  # one row per cluster, in matrix units
    inertia: float
    silhouette: float | None = None


def relabel(labels: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Clusters renumbered by size (largest first, ties by centroid), empty ones dropped."""
    sizes = np.bincount(labels, minlength=len(centroids))
    used = [c for c in range(len(centroids)) if sizes[c] > 0]
    order = sorted(used, key=lambda c: (-sizes[c], tuple(np.round(centroids[c], 12))))
    mapping = np.full(len(centroids), -1)
    mapping[order] = np.arange(len(order))
    return mapping[labels], centroids[order]


def inertia(values: np.ndarray, centroids: np.ndarray, labels: np.ndarray) -> float:
    """Sum of squared distances of the rows to their centroid."""
    return float(((values - centroids[labels]) ** 2).sum())


def lloyd(values: np.ndarray, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """k-means++ seeding and Lloyd steps until the labels are stable (or ``ITERATIONS``)."""
    centroids, labels = kmeans2(values, k, iter=STEP, minit="++", rng=rng)
    return settle(values, centroids, labels, ITERATIONS // STEP - 1)


def settle(values: np.ndarray, centroids: np.ndarray, labels: np.ndarray,
           rounds: int) -> tuple[np.ndarray, np.ndarray]:
    """Lloyd steps from these centroids, ``STEP`` at a time, until the labels are stable."""
    for _ in range(rounds):
        previous = labels
        centroids, labels = kmeans2(values, centroids, iter=STEP, minit="matrix")
        if np.array_equal(labels, previous):
            break
    return centroids, labels


def fit(values: np.ndarray, k: int, seed: int = 0) -> Fit:
    """The best of ``RESTARTS`` k-means++ fits (lowest inertia), relabelled by size."""
    best: Fit | None = None
    for restart in range(RESTARTS):
        with warnings.catch_warnings():  # an empty cluster is dropped by relabel()
            warnings.simplefilter("ignore")
            centroids, labels = lloyd(values, k, np.random.default_rng([seed, restart]))
        spread = inertia(values, centroids, labels)
        if best is None or spread < best.inertia - 1e-9:
            labels, centroids = relabel(labels, centroids)
            best = Fit(len(centroids), labels, centroids, spread)
    assert best is not None
    return best


def _nearest(values: np.ndarray, found: Fit) -> Fit:
    """Every row labelled by its nearest centroid of a fit made on a sample of them."""
    labels = vq(values, found.centroids)[0]
    return Fit(found.k, labels, found.centroids, inertia(values, found.centroids, labels))


def refine(values: np.ndarray, start: Fit) -> Fit:
    """Lloyd steps over every row from a sample fit's centroids, relabelled by size."""
    with warnings.catch_warnings():  # an empty cluster is dropped by relabel()
        warnings.simplefilter("ignore")
        centroids, labels = settle(values, start.centroids, vq(values, start.centroids)[0],
                                   ITERATIONS // STEP)
    labels, centroids = relabel(labels, centroids)
    return Fit(len(centroids), labels, centroids, inertia(values, centroids, labels))


def sample_rows(n: int, seed: int = 0, size: int = SILHOUETTE_SAMPLE) -> np.ndarray:
    """A fixed sample of row indices (all rows when ``n <= size``), sorted."""
    if n <= size:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


def silhouette(values: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette (Rousseeuw 1987) of the rows given: (b - a) / max(a, b), a the mean
    distance to the own cluster, b to the nearest other cluster; a row alone in its cluster
    scores 0. Quadratic in rows: pass a sample."""
    clusters = np.unique(labels)
    if len(clusters) < 2:
        return 0.0
    dist = cdist(values, values)
    member = labels[:, None] == clusters[None, :]  # rows x clusters
    counts = member.sum(axis=0)
    sums = dist @ member  # rows x clusters: distance sums to each cluster
    own = np.argmax(member, axis=1)
    own_count = counts[own] - 1
    with np.errstate(divide="ignore", invalid="ignore"):
        a = np.where(own_count > 0, sums[np.arange(len(labels)), own] / own_count, 0.0)
        means = sums / counts[None, :]
    means[member] = np.inf
    b = means.min(axis=1)
    s = np.where(own_count > 0, (b - a) / np.maximum(np.maximum(a, b), 1e-12), 0.0)
    return float(s.mean())


def choose(values: np.ndarray, k: int | None = None, seed: int = 0) -> tuple[Fit, list[Fit]]:
    """The chosen fit and every fit tried (with its silhouette on the shared sample)."""
    ks = [k] if k is not None else [c for c in K_RANGE if c < len(values)]
    if not ks or ks[0] < 2 or ks[0] > len(values):
        raise ValueError(f"cannot cluster {len(values)} rows into k={k or min(K_RANGE)}")
    rows = sample_rows(len(values), seed)
    fit_rows = sample_rows(len(values), seed, FIT_SAMPLE)
    sampled = len(fit_rows) < len(values)
    tried = []
    for c in ks:
        f = fit(values[fit_rows], c, seed)
        if sampled:
            f = _nearest(values, f)
        tried.append(Fit(f.k, f.labels, f.centroids, f.inertia,
                         silhouette(values[rows], f.labels[rows])))
    n = len(values)
    eligible = [f for f in tried if np.bincount(f.labels).min() >= MIN_SHARE * n] or tried
    best = max(eligible, key=lambda f: (round(f.silhouette or 0.0, 9), -f.k))
    if sampled:
        refined = refine(values, best)
        best = Fit(refined.k, refined.labels, refined.centroids, refined.inertia,
                   silhouette(values[rows], refined.labels[rows]))
    return best, tried
