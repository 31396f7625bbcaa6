"""Product recommendations that respect live stock, fulfilment cost and quality.

```python
from lakehouse.recommend import evaluate, publish_recommendations, recommend

recommend("P0002239153c422d2", "web", n=10)   # rank, product_id, score, available_to_promise,
                                              # fulfilment_cost, delivery_days, quality, reason
publish_recommendations(home)                 # nightly gold/ml_recommendations
evaluate(home)                                # hit rate@10 / recall@10 per model vs popularity
```

Pipeline: ``signals`` (purchases, carts, views per resolved person, from validated pins) ->
``model`` (relevance: popularity, co-occurrence, implicit ALS/BPR/cosine/BM25, hybrid) ->
``rerank`` (hard stock gate per channel, durables already bought left out, quality and
delivery factors, top-n) -> ``publish`` (nightly table) / ``api`` (live, one person);
``offline``: the evaluation (``evaluate``).

Model choice (``evaluate`` on the default simulation home, 200 products, 14-day hold-out, 656
test persons, ``bench/bench_recommend.py``): hit rate@10 hybrid 0.503, popularity through the
same re-ranking 0.505, co-occurrence 0.462, BM25 0.412, cosine 0.373, ALS 0.203, BPR ~0.20;
popularity baseline (no re-ranking, nothing left out) 0.521. Personal signals add nothing
measurable over popularity on that data (every personal model is at or below it), so the
default is ``hybrid``: the popular list, reordered by the person's own co-occurrence signals,
which keeps the baseline's hit rate within noise and personalises where signals exist. On data
with personal taste the co-occurrence part carries it (see the unit test of ``evaluate``).
Leaving already-bought durables out costs about 0.02 of hit rate there (people do re-buy
them: 2-8 % of buyer-product pairs): a deliberate choice, since recommending what someone
just bought is a poor experience; the quality and delivery factors cost nothing measurable.
"""

from importlib import import_module

from lakehouse.recommend.api import recommend

# the rest on first use: `import lakehouse.ml` (which re-exports recommend) must not pay for
# scipy and the models (DESIGN: a micro-batch does not pay for what it does not use)
_LAZY = {"REC_SCHEMA": "rerank", "build_recommendations": "rerank", "evaluate": "offline",
         "publish_recommendations": "publish"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f"lakehouse.recommend.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'lakehouse.recommend' has no attribute {name!r}")


__all__ = ["REC_SCHEMA", "build_recommendations", "evaluate", "publish_recommendations",
           "recommend"]
