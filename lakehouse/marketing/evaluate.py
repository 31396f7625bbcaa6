"""Grading attribution against the simulator's own purchase model (exam grading: reads truth).

The simulator decides each purchase with ``p_buy = min(base * lift * promo, 0.95)``, where
``lift = 1 + ad lift + e-mail lift`` (latest touch per channel, decaying), and writes for every
order what that decision was made of (truth ``conversion_drivers``): the session's source, the
latest ad touch's campaign and network, ``p_buy`` and the same probability with the ad lift or
the e-mail lift removed (``p_without_ads``, ``p_without_email``).

``true_incremental`` is the REMOVAL counterfactual: how many of the realised conversions would
be lost if one channel were switched off, everything else unchanged. Per order:

- the session's own source gets 1: without that visit there is no purchase (an ad-click or
  e-mail-click session exists only because of the click; an organic, direct, app or store visit
  is the baseline that the channel stands for);
- ads get ``1 - p_without_ads / p_buy`` unless the session is an ad session (its 1 already
  counts), credited to the network of the latest ad touch; e-mail likewise with
  ``p_without_email``.

Since ``E[1{buy} (1 - p'/p)] = p - p'``, the sum over orders is an unbiased estimate of the
conversions lost without the channel (orders that did not happen because the wanted products
were out of stock are in neither the data nor the estimate). Channels overlap (an e-mail lift on
an ad session counts for both), so the totals add up to more than the number of orders; shares
are the totals normalised to 1, which is what a Markov model's removal effects estimate and how
it normalises them. It is not a Shapley split of the interaction, and not "what a channel's
budget buys at the margin"; knock-on effects of removal (stock, later touches) are ignored.

``score`` compares models' channel shares with the true shares.

Channel names (the attribution taxonomy): ads by network -> ``paid_search`` (search),
``paid_social`` (social), ``display`` (display); ``email``; organic web visits ->
``organic_search``; direct web visits and app sessions -> ``direct``; store visits -> ``store``.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

NETWORK_CHANNEL = {"search": "paid_search", "social": "paid_social", "display": "display"}
SOURCE_CHANNEL = {"organic": "organic_search", "direct": "direct", "email": "email",
                  "store": "store"}
_KEY_CHANNEL = {**SOURCE_CHANNEL, **{f"ads:{n}": c for n, c in NETWORK_CHANNEL.items()}}


def _drivers(truth_dir: Path, include_cancelled: bool) -> pl.DataFrame:
    drivers = pl.read_parquet(truth_dir / "conversion_drivers.parquet")
    if not include_cancelled:
        orders = pl.read_parquet(truth_dir / "orders.parquet", columns=["order_id", "cancelled"])
        kept = orders.filter(~pl.col("cancelled")).select("order_id")
        drivers = drivers.join(kept, on="order_id", how="semi")
    if drivers.filter(pl.col("p_buy") <= 0).height:
        raise ValueError("conversion_drivers: an order with p_buy <= 0")
    for column, known in (("session_source", {*SOURCE_CHANNEL, "ads"}),
                          ("ad_network", {*NETWORK_CHANNEL, ""})):
        unknown = set(drivers[column].unique().to_list()) - known
        if unknown:
            raise ValueError(f"conversion_drivers: unknown {column} {sorted(unknown)}")
    return drivers


def conversion_credits(truth_dir: Path, include_cancelled: bool = True) -> pl.DataFrame:
    """Per order and channel, the expected share of the conversion lost without the channel:
    ``order_id, channel, credit`` (only credits > 0). See the module docstring."""
    d = _drivers(truth_dir, include_cancelled)
    # network of an ad session's campaign: the campaign -> network pairs the truth itself holds
    # (for an ad session the latest ad touch is its own click, so ad_network agrees)
    pairs = d.filter(pl.col("ad_campaign_id") != "").select("ad_campaign_id", "ad_network")
    camp_net = dict(zip(pairs["ad_campaign_id"], pairs["ad_network"], strict=True))
    session_net = pl.col("session_campaign_id").replace_strict(
        camp_net, default=pl.col("ad_network"), return_dtype=pl.String)
    key = (pl.when(pl.col("order_channel") == "app").then(pl.lit("direct"))
           .when(pl.col("session_source") == "ads").then(pl.lit("ads:") + session_net)
           .otherwise(pl.col("session_source")))
    own = d.select("order_id", key.replace_strict(_KEY_CHANNEL, return_dtype=pl.String)
                   .alias("channel"), pl.lit(1.0).alias("credit"))
    ads = d.filter((pl.col("session_source") != "ads") & (pl.col("ad_network") != "")).select(
        "order_id",
        pl.col("ad_network").replace_strict(NETWORK_CHANNEL, return_dtype=pl.String)
        .alias("channel"),
        (1.0 - pl.col("p_without_ads") / pl.col("p_buy")).alias("credit"))
    email = d.filter(pl.col("session_source") != "email").select(
        "order_id", pl.lit("email").alias("channel"),
        (1.0 - pl.col("p_without_email") / pl.col("p_buy")).alias("credit"))
    return pl.concat([own, ads, email]).filter(pl.col("credit") > 0)


def true_incremental(truth_dir: Path, include_cancelled: bool = True) -> pl.DataFrame:
    """True incremental conversions per channel under removal: ``channel, incremental, share``
    (largest first; channels with no credit are left out).

    ``include_cancelled`` (default True): every order counts, cancelled ones too (truth
    ``orders.cancelled``: the purchase decision was made; the cancellation is independent of
    the channels). False drops cancelled orders.
    """
    credits = conversion_credits(truth_dir, include_cancelled)
    out = credits.group_by("channel").agg(pl.col("credit").sum().alias("incremental"))
    total = float(out["incremental"].sum())
    return out.with_columns(
        (pl.col("incremental") / total if total else pl.lit(0.0)).alias("share"),
    ).sort(["incremental", "channel"], descending=[True, False])


def score(model_shares: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per model (``model_shares``: ``model, channel, share``) against ``truth`` (``channel,
    share``, e.g. ``true_incremental``), over the union of the model's and the true channels
    (a missing channel has share 0): ``model, total_absolute_error`` (sum of |share - true
    share|, 0..2), ``max_abs_error_pp`` (largest |share - true share| in percentage points),
    ``spearman`` (rank correlation of the shares, average ranks for ties; null when either side
    is all ties) and ``n_channels``."""
    if model_shares.select("model", "channel").is_duplicated().any():
        raise ValueError("model_shares: a model lists a channel twice")
    true = truth.select("channel", pl.col("share").cast(pl.Float64).alias("true_share"))
    models = model_shares.select("model").unique()
    pred = model_shares.select("model", "channel", pl.col("share").cast(pl.Float64))
    keys = pl.concat([models.join(true.select("channel"), how="cross"),
                      pred.select("model", "channel")]).unique()
    j = (keys.join(pred, on=["model", "channel"], how="left")
         .join(true, on="channel", how="left")
         .with_columns(pl.col("share", "true_share").fill_null(0.0))
         .with_columns((pl.col("share") - pl.col("true_share")).abs().alias("err"),
                       pl.col("share").rank("average").over("model").alias("r_model"),
                       pl.col("true_share").rank("average").over("model").alias("r_true")))
    return (j.group_by("model")
            .agg(pl.col("err").sum().alias("total_absolute_error"),
                 (pl.col("err").max() * 100.0).alias("max_abs_error_pp"),
                 pl.corr("r_model", "r_true").alias("spearman"),
                 pl.len().cast(pl.Int64).alias("n_channels"))
            .with_columns(pl.col("spearman").fill_nan(None))
            .sort("model"))
