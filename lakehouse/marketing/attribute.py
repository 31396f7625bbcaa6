"""The ``attribute`` dispatcher: any set of models over one checked journey table, stacked.

Touches are checked and ordered once; each model only decides a credit per touch, so the output
schema, the join of kept columns and ``value = credit * conversion_value`` live here alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import polars as pl

from lakehouse.marketing import rules
from lakehouse.marketing.markov import removal_effects
from lakehouse.marketing.schema import J, touches
from lakehouse.marketing.shapley import channel_sets, set_weights

MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay",
          "position_based", "markov", "shapley")
PARAMS = {"last_non_direct": ("direct_channels",), "time_decay": ("half_life_days",),
          "position_based": ("first", "last"), "markov": ("order", "collapse_repeats"),
          "shapley": ("missing", "max_channels")}
_RULES: dict[str, Callable[..., pl.DataFrame]] = {
    m: getattr(rules, m) for m in MODELS if m not in ("markov", "shapley")}


def attribute(journeys: pl.DataFrame | pl.LazyFrame, model: str | Iterable[str] = "all", *,
              keep: Sequence[str] = (), **params: object) -> pl.DataFrame:
    """Credit every conversion to the touches of its journey, by one model, several or "all".

    Returns ``conversion_id, journey_id, touch_id, channel, *keep, model, credit, value``: one
    row per (model, conversion, touch), in model order, then journey and touch time order.
    ``params`` go to the models that take them (see ``PARAMS``); one no requested model takes is
    a ``TypeError``. Markov and Shapley train on every journey, converting or not.
    """
    keep = (keep,) if isinstance(keep, str) else tuple(keep)
    models = _models(model)
    unknown = sorted(set(params) - {p for m in models for p in PARAMS.get(m, ())})
    if unknown:
        raise TypeError(f"no requested model takes {unknown}; parameters by model: {PARAMS}")
    t = touches(journeys, keep)
    converting = t.filter(pl.col("conversion_id").is_not_null())
    parts = []
    for m in models:
        kwargs = {k: v for k, v in params.items() if k in PARAMS.get(m, ())}
        credited = _credit(m, t, converting, kwargs)
        parts.append(credited.select(
            "conversion_id", J, "touch_id", "channel", *keep, pl.lit(m).alias("model"),
            "credit", (pl.col("credit") * pl.col("conversion_value")).alias("value")))
    return pl.concat(parts)


def channel_shares(credits: pl.DataFrame) -> pl.DataFrame:
    """``model, channel, conversions, value, share``: each channel's summed credit and value,
    and its share of the model's conversions, sorted by model and channel."""
    return (credits.group_by("model", "channel")
            .agg(pl.col("credit").sum().alias("conversions"), pl.col("value").sum())
            .with_columns(share=pl.col("conversions") / pl.col("conversions").sum().over("model"))
            .sort("model", "channel"))


def _models(model: str | Iterable[str]) -> list[str]:
    names = list(MODELS) if model == "all" else [model] if isinstance(model, str) else [*model]
    bad = [m for m in names if m not in MODELS]
    if bad or not names:
        raise ValueError(f"unknown model(s) {bad}; choose one or more of {MODELS}, or 'all'")
    return list(dict.fromkeys(names))


def _credit(model: str, t: pl.DataFrame, converting: pl.DataFrame, kwargs: dict
            ) -> pl.DataFrame:
    """``converting`` with a ``credit`` column by ``model``."""
    if model in _RULES:
        return _RULES[model](converting, **kwargs)
    if model == "markov":
        weights = removal_effects(t, **kwargs).rename({"removal_effect": "_w"})
        on = ["channel"]
    else:
        sets = channel_sets(t)
        weights = sets.join(set_weights(sets, **kwargs), on="_set").select(J, "channel", "_w")
        on = [J, "channel"]
    return rules.by_channel_weight(
        converting.join(weights, on=on, how="left", maintain_order="left"))
