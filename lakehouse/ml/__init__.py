"""ML products: feature marts and point-in-time-correct training sets from validated data.

```python
import polars as pl
from datetime import datetime, UTC
from lakehouse.ml import training_set

labels = pl.DataFrame({"person_id": ["P0002239153c422d2"],
                       "label_time": [datetime(2026, 2, 1, tzinfo=UTC)], "churned": [True]})
ts = training_set("customer", labels=labels)   # as known at each label_time (delivered by then)
ts.frame, ts.versions                          # {"silver/orders": 3, ...}: validated versions
ts.rebuild().frame.equals(ts.frame)            # same versions (Delta time travel), same frame
```
"""

from lakehouse.ml.frames import customer_features, product_features
from lakehouse.ml.inputs import NotValidatedError
from lakehouse.ml.marts import MARTS, publish_feature_marts
from lakehouse.ml.training import FEATURE_SETS, HistoryError, TrainingSet, training_set
from lakehouse.recommend.api import recommend

__all__ = [
    "FEATURE_SETS",
    "MARTS",
    "HistoryError",
    "NotValidatedError",
    "TrainingSet",
    "customer_features",
    "product_features",
    "publish_feature_marts",
    "recommend",
    "training_set",
]
