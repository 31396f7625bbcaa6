"""Replenishment and transfer recommendations: what to order or move, when, from where.

```python
from lakehouse.replenish import publish_replenishment, recommend_replenishment, Costs

publish_replenishment("/path/to/home")   # validated inputs + gold/demand_forecast
# -> {"uri": ".../gold/replenishment_recommendations", "rows": 412, "orders": 180, ...}

plan = recommend_replenishment(forecast, positions, products, suppliers, purchase_orders,
                               locations, shipping_rates, as_of=date(2026, 3, 1),
                               costs=Costs(order_cost=40.0))
plan.filter(pl.col("order_date") == date(2026, 3, 1))   # to place today; later rows: preview
```

The policy (:mod:`~lakehouse.replenish.levels`) is a cost-aware (s, S) policy on the gamma
lead-time demand of the forecast, lead times learnt per supplier from purchase-order history;
:func:`reorder_point_baseline` is the classical comparison and :func:`evaluate` replays the
simulator's true demand against either.
"""

from lakehouse.replenish.actions import ACTION_SCHEMA
from lakehouse.replenish.costs import Costs
from lakehouse.replenish.evaluate import evaluate, start_from_truth
from lakehouse.replenish.publish import MissingInputError, publish_replenishment
from lakehouse.replenish.recommend import recommend_replenishment, reorder_point_baseline
from lakehouse.replenish.suppliers import supplier_performance

__all__ = ["ACTION_SCHEMA", "Costs", "MissingInputError", "evaluate", "publish_replenishment",
           "recommend_replenishment", "reorder_point_baseline", "start_from_truth",
           "supplier_performance"]
