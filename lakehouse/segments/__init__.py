"""Customer segmentation a marketer can use: RFM scores and named clusters per person.

```python
from lakehouse.ml import training_set
from lakehouse.segments import publish_segments, segment_customers

features = training_set("customer").frame        # validated inputs, as of now
seg = segment_customers(features, features["as_of"].max())
seg.members    # person_id, recency_days, frequency, monetary, r/f/m_score (1-5, 0: never
               # bought), rfm_score "543", rfm_segment, cluster, cluster_name, as_of
seg.profiles   # cluster, cluster_name, description, persons, share, mean key features
seg.k, seg.silhouette

publish_segments(home)   # gold/customer_segments + gold/customer_segment_profiles
```

RFM rules: ``lakehouse.segments.rfm``; clustering matrix: ``.matrix``; choice of k:
``.clustering``; cluster names: ``.naming``.
"""

from importlib import import_module

from lakehouse.segments.tables import MEMBERS, PROFILES

# the rest on first use: the code location reads the table names and descriptions when it
# loads, and must not pay for scipy (only the step that segments does)
_LAZY = {"publish_segments": "publish", "segment_home": "publish", "NO_PURCHASE": "rfm",
         "SEGMENT_GRID": "rfm", "SEGMENTS": "rfm", "MEMBER_COLUMNS": "segmentation",
         "Segmentation": "segmentation", "segment_customers": "segmentation"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f"lakehouse.segments.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lakehouse.segments' has no attribute {name!r}")


__all__ = [
    "MEMBERS",
    "MEMBER_COLUMNS",
    "NO_PURCHASE",
    "PROFILES",
    "SEGMENTS",
    "SEGMENT_GRID",
    "Segmentation",
    "publish_segments",
    "segment_customers",
    "segment_home",
]
