"""Segment customers: RFM scores and a named clustering, one row per person.

Two views of the same customers, side by side, because marketers use both: RFM (a fixed grid,
comparable month to month, explains itself) and clusters of the whole feature mart (channel
mix, category affinity, returns, browsing and e-mail behaviour: what RFM cannot see), named
from their profile so nobody has to read centroids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import polars as pl

from lakehouse.segments.clustering import choose
from lakehouse.segments.matrix import KEY, build_matrix
from lakehouse.segments.naming import KEY_STATS, names, profiles
from lakehouse.segments.rfm import rfm_scores

MEMBER_DOCS = {
    "person_id": "resolved person (identity map); the only identifier, no raw PII",
    "recency_days": "days from the last purchase to as_of (null: never bought)",
    "frequency": "orders and identified till transactions before as_of",
    "monetary": "spend after discounts before as_of",
    "r_score": "1-5: share of buyers with a longer recency, in fifths (0: never bought)",
    "f_score": "1-5: share of buyers with a lower frequency, in fifths (0: never bought)",
    "m_score": "1-5: share of buyers with a lower spend, in fifths (0: never bought)",
    "rfm_score": "r, f and m scores as one string, e.g. '543' ('000': never bought)",
    "rfm_segment": "classic RFM segment from R and round((F + M) / 2); 'Prospects': never "
                   "bought",
    "cluster": "behaviour cluster of the whole feature mart, 0 = largest",
    "cluster_name": "the cluster's name, from its profile relative to the population",
    "as_of": "cutoff of the features: every input event is strictly before it",
}
PROFILE_DOCS = {
    "cluster": "behaviour cluster, 0 = largest",
    "cluster_name": "name from the profile relative to the population (naming rules)",
    "description": "size, the naming rule's reason and the traits that stand out most",
    "persons": "persons in the cluster",
    "share": "persons / all persons",
    "buyer_share": "share of the cluster's persons with at least one purchase",
    "recency_days": "mean over the cluster's buyers",
    "frequency": "mean over the cluster's buyers",
    "monetary": "mean over the cluster's buyers",
    "avg_order_value": "mean over the cluster's buyers",
    "return_rate": "mean over the cluster's buyers",
    "sessions_30d": "mean over all the cluster's persons",
    "visit_share": "share of the cluster's persons with any web or app visit",
    "email_open_rate": "mean over the cluster's persons with an e-mail delivered",
    "share_<channel>": "mean share of the buyers' orders in that channel",
    "top_category": "category whose affinity sets the cluster's buyers most apart",
    "as_of": "cutoff of the features",
}
MEMBER_COLUMNS = ("person_id", "recency_days", "frequency", "monetary", "r_score", "f_score",
                  "m_score", "rfm_score", "rfm_segment", "cluster", "cluster_name", "as_of")


@dataclass(frozen=True)
class Segmentation:
    """``members``: one row per person (``MEMBER_COLUMNS``); ``profiles``: one row per
    cluster (size, name, description, mean key features); ``silhouettes``: every k tried."""

    members: pl.DataFrame
    profiles: pl.DataFrame
    k: int
    silhouette: float
    silhouettes: dict[int, float] = field(default_factory=dict)
    columns: tuple[str, ...] = ()  # the feature columns the clustering used


def _utc(as_of: datetime) -> datetime:
    return as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of.astimezone(UTC)


def _profile_frame(features: pl.DataFrame, as_of: datetime) -> pl.DataFrame:
    """The per-cluster table: identity, size, name, then the mean of each key statistic."""
    found = profiles(features)
    named = names(found)
    rows = []
    for p in found:
        name, text = named[p.cluster]
        top = max(p.categories.items(), key=lambda kv: (kv[1], kv[0]), default=None)
        rows.append({"cluster": p.cluster, "cluster_name": name, "description": text,
                     "persons": p.persons, "share": p.share, "buyer_share": p.buyer_share,
                     **{s: p.means[s] for s, _, _ in KEY_STATS},
                     **{f"share_{c}": v for c, v in p.channels.items()},
                     "top_category": top[0].removeprefix("affinity_") if top else None})
    frame = pl.DataFrame(rows, infer_schema_length=None)
    return frame.with_columns(
        pl.col("cluster").cast(pl.Int32), pl.col("persons").cast(pl.Int64),
        pl.col(s for s, _, _ in KEY_STATS).cast(pl.Float64),
        pl.lit(_utc(as_of)).cast(pl.Datetime("us", "UTC")).alias("as_of"))


def segment_customers(features: pl.DataFrame, as_of: datetime, k: int | None = None,
                      seed: int = 0) -> Segmentation:
    """Segment every person of a customer feature frame (``lakehouse.ml`` customer set: one
    row per ``person_id``). ``k``: number of clusters (default: chosen by silhouette in 3..8);
    same features and seed, same result, whatever the row order. Raises ``ValueError`` on an
    empty frame, a repeated person, fewer persons than clusters or no varying feature."""
    if features.height == 0:
        raise ValueError("no customers to segment: the feature frame is empty")
    if features[KEY].n_unique() != features.height:
        raise ValueError(f"the feature frame must have one row per {KEY}")
    matrix = build_matrix(features)
    if not matrix.columns:
        raise ValueError("no feature varies across the persons: nothing to cluster on")
    best, tried = choose(matrix.values, k, seed)
    clustered = (features.sort(KEY)
                 .with_columns(pl.Series("cluster", best.labels, dtype=pl.Int32)))
    profile = _profile_frame(clustered, as_of)
    members = (rfm_scores(clustered.select(KEY, "recency_days", "frequency", "monetary"))
               .join(clustered.select(KEY, "cluster"), on=KEY, maintain_order="left")
               .join(profile.select("cluster", "cluster_name"), on="cluster",
                     maintain_order="left")
               .with_columns(pl.lit(_utc(as_of)).cast(pl.Datetime("us", "UTC")).alias("as_of"))
               .select(MEMBER_COLUMNS))
    return Segmentation(members, profile, best.k, float(best.silhouette or 0.0),
                        {f.k: float(f.silhouette or 0.0) for f in tried}, matrix.columns)
