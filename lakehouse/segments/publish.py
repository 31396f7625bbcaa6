"""Publish the segmentation as gold Delta tables, from validated features only.

``H/lake/gold/customer_segments`` (one row per person) and
``H/lake/gold/customer_segment_profiles`` (one row per cluster) are replaced whole on each
publish (one atomic commit each; earlier versions stay readable by time travel).

The features come from the validated pin of ``gold/ml_customer_features`` (the mart analysts
and models already see, so segments and features agree) when no ``as_of`` is asked for and
the mart has a pin; otherwise from ``lakehouse.ml.training_set("customer", as_of=...)``, which
reads the validated versions of its inputs. An unvalidated mart commit is never read.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import polars as pl

from lakehouse.home import Home
from lakehouse.ml import training_set
from lakehouse.segments.segmentation import (
    MEMBER_DOCS,
    PROFILE_DOCS,
    Segmentation,
    segment_customers,
)
from lakehouse.segments.tables import MEMBERS, PROFILES
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table
from lakehouse.storage.validations import read_validated

FEATURES = "ml_customer_features"


def customer_features(home: Home, as_of: datetime | None = None) -> pl.DataFrame:
    """The customer feature frame to segment: the validated mart, or a fresh feature set."""
    if as_of is None:
        mart = read_validated(table_uri(home, "gold", FEATURES))
        if mart is not None and mart.height:
            return mart
    return training_set("customer", as_of=as_of, home=home).frame


def segment_home(home: str | Path | Home | None = None, as_of: datetime | None = None,
                 k: int | None = None, seed: int = 0) -> Segmentation:
    """Segment the home's customers (see :func:`customer_features` for the source)."""
    h = home if isinstance(home, Home) else Home.resolve(home)
    features = customer_features(h, as_of)
    return segment_customers(features, features["as_of"].max(), k=k, seed=seed)


def publish_segments(home: str | Path | Home | None = None, as_of: datetime | None = None,
                     k: int | None = None, seed: int = 0) -> dict:
    """Segment and replace both gold tables. Returns per table its uri, rows, new version and
    column descriptions, plus ``k``, ``silhouette`` (and every k tried), ``as_of`` and
    ``seconds`` (for Dagster metadata)."""
    start = time.perf_counter()
    h = home if isinstance(home, Home) else Home.resolve(home)
    seg = segment_home(h, as_of, k, seed)
    out: dict = {}
    for name, frame, docs in ((MEMBERS, seg.members, MEMBER_DOCS),
                              (PROFILES, seg.profiles, PROFILE_DOCS)):
        uri = table_uri(h, "gold", name)
        out[name] = {"uri": uri, "rows": frame.height, "version": replace_table(uri, frame),
                     "columns": {c: docs.get(c) or docs.get("share_<channel>", "")
                                 for c in frame.columns}}
    out.update(k=seg.k, silhouette=round(seg.silhouette, 4),
               silhouettes={k_: round(s, 4) for k_, s in seg.silhouettes.items()},
               as_of=seg.members["as_of"].max().isoformat(),
               seconds=round(time.perf_counter() - start, 3))
    return out
