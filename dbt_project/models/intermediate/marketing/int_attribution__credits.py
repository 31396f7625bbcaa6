"""Every attribution model's credit for each touch of each conversion's journey.

A dbt Python model: it runs inside the warehouse build (dbt-duckdb, in process) on the
journeys dbt just built, so the attribution marts, their tests and the warehouse gate see it
like any SQL model. The models are ``lakehouse.marketing.attribute`` (documented there, usable
on any journeys); their parameters are this model's config, set from dbt vars in its YAML.
"""

import polars as pl


def model(dbt, session):
    from lakehouse.marketing import attribute

    dbt.config(materialized="table")
    touches = dbt.ref("int_touchpoints__journeys").pl()
    values = dbt.ref("int_conversions__linked").pl().select("conversion_id", "conversion_value")
    journeys = touches.select(
        "journey_id", "touch_id", pl.col("touch_channel").alias("channel"), "occurred_at",
        "conversion_id", "converted_at", "campaign_id",
    ).join(values, on="conversion_id", how="left")
    credits = attribute(
        journeys, model="all", keep=("campaign_id",),
        half_life_days=float(dbt.config.get("half_life_days")),
        order=int(dbt.config.get("markov_order")),
        missing=str(dbt.config.get("shapley_missing")),
    )
    return credits.rename({"channel": "touch_channel", "model": "attribution_model",
                           "value": "attributed_revenue"})
