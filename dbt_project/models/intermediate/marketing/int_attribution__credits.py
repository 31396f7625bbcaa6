"""Every attribution model's credit for each touch of each conversion's journey.

A dbt Python model: it runs inside the warehouse build (dbt-duckdb, in process) on the
journeys dbt just built, so the attribution marts, their tests and the warehouse gate see it
like any SQL model. The models are ``lakehouse.marketing.attribute`` (documented there, usable
on any journeys); their parameters are this model's config, set from dbt vars in its YAML.

Memory: the frames live in Python, outside DuckDB's memory limit, in the same process. Only
the columns used are read, and the YAML's pre-hook lowers DuckDB's limit while the model runs
(its post-hook gives it back once the table is written), so DuckDB's cached pages make room
for the frames instead of adding to them.
"""


def model(dbt, session):
    from lakehouse.marketing import attribute

    dbt.config(materialized="table")
    touches = dbt.ref("int_touchpoints__journeys").project(
        "journey_id, touch_id, touch_channel as channel, occurred_at, conversion_id, "
        "converted_at, campaign_id").pl()
    values = dbt.ref("int_conversions__linked").project("conversion_id, conversion_value").pl()
    journeys = touches.join(values, on="conversion_id", how="left")
    del touches, values
    credits = attribute(
        journeys, model="all", keep=("campaign_id",),
        half_life_days=float(dbt.config.get("half_life_days")),
        order=int(dbt.config.get("markov_order")),
        missing=str(dbt.config.get("shapley_missing")),
    )
    del journeys
    return credits.rename({"channel": "touch_channel", "model": "attribution_model",
                           "value": "attributed_revenue"})
