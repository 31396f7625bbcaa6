"""Descriptions of the ML feature marts' columns (``H/lake/gold/ml_*``), from the feature
definitions' own docs (``lakehouse.ml.feature_docs.CUSTOMER_DOCS`` / ``PRODUCT_DOCS``, the text
``publish_feature_marts`` reports), plus what holds in a published mart: the window of each
``_<n>d`` feature and what ``as_of`` is there.

The affinity columns are named after the catalog's top categories, so they are matched by
prefix (``PREFIXES``), not listed.
"""

from __future__ import annotations

import re

from lakehouse.ml.feature_docs import CUSTOMER_DOCS, PRODUCT_DOCS
from lakehouse.recommend.rerank import REC_DOCS

AFFINITY = "affinity_<category>"  # the key of the shared affinity text in CUSTOMER_DOCS
_WINDOW = re.compile(r"_(\d+)d$")
_AS_OF = ("in a mart: the publish time, the same on every row of both marts; events and "
          "order and catalog versions count only once delivered by then (knowledge time)")


def _mart_doc(column: str, doc: str) -> str:
    """``doc`` with the mart's as-of semantics, and the window of a windowed feature."""
    if column == "as_of":
        return f"{doc}; {_AS_OF}"
    window = _WINDOW.search(column)
    if window:
        n = window.group(1)
        return f"{doc}; window [as_of - {n} days, as_of)"
    return doc


def _mart(docs: dict[str, str]) -> dict[str, str]:
    return {c: _mart_doc(c, d) for c, d in docs.items() if c != AFFINITY}


# table -> column -> description
COLUMNS: dict[str, dict[str, str]] = {
    "ml_customer_features": _mart(CUSTOMER_DOCS),
    "ml_product_features": _mart(PRODUCT_DOCS),
    "ml_recommendations": REC_DOCS,
}
# table -> column-name prefix -> description, for columns named by data
PREFIXES: dict[str, dict[str, str]] = {
    "ml_customer_features": {"affinity_": CUSTOMER_DOCS[AFFINITY]},
}
