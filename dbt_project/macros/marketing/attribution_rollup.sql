{#- An attribution roll-up per model, `grain` (touch_channel or campaign_id) and day: the
    conversions and revenue credited (by conversion day) beside what the grain cost or sent
    that day, with ROAS and cost per acquisition. Every (model, grain, day) with credit or with
    cost is a row. A campaign reached through several channel groups is shown under the
    first of them by name (the same on every build). -#}
{% macro attribution_rollup(grain) %}
with credits as (
    select * from {{ ref('fct_attribution') }}
),

campaign_costs as (
    select * from {{ ref('int_marketing__campaign_costs') }}
),

models as (
    select distinct attribution_model from credits
),

attributed as (
    select
        attribution_model,
        {{ grain }},
        conversion_date as activity_date,
        min(touch_channel) as channel_of_grain,
        sum(credit) as attributed_conversions,
        sum(attributed_revenue) as attributed_revenue
    from credits
    where {{ grain }} is not null
    group by attribution_model, {{ grain }}, conversion_date
),

costs as (
    select
        {{ grain }},
        activity_date,
        min(touch_channel) as channel_of_grain,
        sum(cost) as cost,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks,
        cast(sum(emails_sent) as bigint) as emails_sent
    from campaign_costs
    group by {{ grain }}, activity_date
),

grid as (
    select attribution_model, {{ grain }}, activity_date from attributed
    union
    select m.attribution_model, c.{{ grain }}, c.activity_date
    from costs as c
    cross join models as m
)

select
    g.attribution_model,
    g.{{ grain }},
    g.activity_date,
    coalesce(a.channel_of_grain, c.channel_of_grain) as channel_of_grain,
    coalesce(a.attributed_conversions, 0) as attributed_conversions,
    coalesce(a.attributed_revenue, 0) as attributed_revenue,
    coalesce(c.cost, 0) as cost,
    coalesce(c.impressions, 0) as impressions,
    coalesce(c.clicks, 0) as clicks,
    coalesce(c.emails_sent, 0) as emails_sent,
    coalesce(a.attributed_revenue, 0) / nullif(c.cost, 0) as return_on_ad_spend,
    nullif(c.cost, 0) / nullif(a.attributed_conversions, 0) as cost_per_acquisition
from grid as g
left join attributed as a using (attribution_model, {{ grain }}, activity_date)
left join costs as c using ({{ grain }}, activity_date)
{% endmacro %}
