"""The ML feature marts: every customer and every product as of one time, as Delta tables.

``H/lake/gold/ml_customer_features`` and ``H/lake/gold/ml_product_features`` are the feature
sets of ``lakehouse.ml.training_set`` without labels (same definition, no train/serve skew),
replaced whole on each publish (one atomic commit; earlier versions stay readable by time
travel within the maintenance retention), each row stamped with its ``as_of``.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from lakehouse.home import Home
from lakehouse.ml.feature_docs import column_docs
from lakehouse.ml.training import training_set
from lakehouse.storage.paths import table_uri
from lakehouse.storage.tables import replace_table

MARTS = {"ml_customer_features": "customer", "ml_product_features": "product"}
# mart -> what it holds, for the asset graph (columns: ``column_docs.py``)
DESCRIPTIONS: dict[str, str] = {
    "ml_customer_features": "One row per person as of the run: recency, frequency, monetary "
    "value, channel mix, category affinities, return propensity, recent activity, e-mail "
    "engagement. The same definition as `lakehouse.ml.training_set('customer')`.",
    "ml_product_features": "One row per product as of the run: sales velocity, stock and days "
    "of cover, return rate, review sentiment, price and active promotion. The same definition "
    "as `lakehouse.ml.training_set('product')`.",
}


def mart_uri(home: Home, mart: str) -> str:
    return table_uri(home, "gold", mart)


def publish_feature_marts(home: str | Path | Home | None = None,
                          as_of: datetime | None = None) -> dict:
    """Rebuild both marts from the validated versions of their inputs and replace the Delta
    tables. Returns, per mart, its uri, rows, new table version, the input versions it read,
    a description of every column and the seconds it took, plus the shared ``as_of`` (for
    Dagster metadata)."""
    h = home if isinstance(home, Home) else Home.resolve(home)
    out: dict = {}
    stamp = None
    for mart, name in MARTS.items():
        start = time.perf_counter()
        ts = training_set(name, as_of=stamp or as_of, home=h)
        stamp = ts.as_of
        uri = mart_uri(h, mart)
        version = replace_table(uri, ts.frame)
        out[mart] = {"uri": uri, "rows": ts.frame.height, "version": version,
                     "read_versions": ts.versions,
                     "columns": column_docs(name, ts.frame.columns),
                     "seconds": round(time.perf_counter() - start, 3)}
    out["as_of"] = stamp.isoformat() if stamp else None
    return out
