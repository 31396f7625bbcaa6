"""Product quality from what customers said and did: review ratings and return rates, shrunk.

A product with two five-star reviews is not better than one with four hundred at 4.6: both
figures are shrunk towards the catalogue-wide mean (Bayesian average with ``prior`` pseudo
observations), so quality moves away from the mean only as evidence accumulates.

``quality = rating_score x (1 - return_rate)`` in [0, 1]: ``rating_score`` is the shrunk mean
rating rescaled over the rating range seen in the data, ``return_rate`` the shrunk units
returned per unit sold. A product with no reviews and no sales gets the catalogue means.
"""

from __future__ import annotations

import polars as pl

PRIOR = 10.0  # pseudo observations behind the catalogue mean (reviews, units sold)
QUALITY_SCHEMA = {"product_id": pl.String, "reviews": pl.Int64, "rating": pl.Float64,
                  "return_rate": pl.Float64, "quality": pl.Float64}


def quality_scores(products: list[str], reviews: pl.DataFrame, returns: pl.DataFrame,
                   sales: pl.DataFrame, prior: float = PRIOR) -> pl.DataFrame:
    """:data:`QUALITY_SCHEMA` per product in ``products`` from ``reviews(product_id, rating)``,
    ``returns(product_id, quantity)`` and ``sales(product_id, quantity)``."""
    rated = reviews.filter(pl.col("rating").is_not_null())
    lo = float(rated["rating"].min()) if rated.height else 0.0
    hi = float(rated["rating"].max()) if rated.height else 1.0
    mean_rating = float(rated["rating"].mean()) if rated.height else (lo + hi) / 2
    sold_total = float(sales["quantity"].sum() or 0)
    returned_total = float(returns["quantity"].sum() or 0)
    base_rate = min(returned_total / sold_total, 1.0) if sold_total > 0 else 0.0
    per = (pl.DataFrame({"product_id": products}, schema={"product_id": pl.String})
           .join(rated.group_by("product_id").agg(pl.len().cast(pl.Int64).alias("reviews"),
                                                  pl.col("rating").sum().alias("_sum")),
                 on="product_id", how="left")
           .join(returns.group_by("product_id").agg(pl.col("quantity").sum().alias("_ret")),
                 on="product_id", how="left")
           .join(sales.group_by("product_id").agg(pl.col("quantity").sum().alias("_sold")),
                 on="product_id", how="left")
           .with_columns(pl.col("reviews", "_sum", "_ret", "_sold").fill_null(0)))
    rating = (pl.col("_sum") + prior * mean_rating) / (pl.col("reviews") + prior)
    rate = ((pl.col("_ret") + prior * base_rate) / (pl.col("_sold") + prior)).clip(0.0, 1.0)
    scale = (rating - lo) / (hi - lo) if hi > lo else pl.lit(1.0)
    return (per.with_columns(rating.alias("rating"), rate.alias("return_rate"))
            .with_columns((scale.clip(0.0, 1.0) * (1.0 - pl.col("return_rate")))
                          .alias("quality"))
            .select(pl.col(c).cast(t) for c, t in QUALITY_SCHEMA.items())
            .sort("product_id"))
