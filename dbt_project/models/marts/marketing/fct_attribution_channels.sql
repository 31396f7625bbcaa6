-- One row per attribution model, channel group and day: conversions and revenue the model
-- credits to the channel (by conversion day), next to what the channel cost that day (ad
-- spend by network; e-mail sends, which carry no cost in the feeds), with ROAS and cost per
-- acquisition. Ratios hold for the row: over several days, sum the numerators first.
with credits as (
    select * from {{ ref('fct_attribution') }}
),

ad_spend as (
    select * from {{ ref('stg_silver__ad_spend') }}
),

email_events as (
    select * from {{ ref('stg_silver__email_events') }}
),

models as (
    select distinct attribution_model from credits
),

attributed as (
    select
        attribution_model,
        touch_channel,
        conversion_date as activity_date,
        sum(credit) as attributed_conversions,
        sum(attributed_revenue) as attributed_revenue
    from credits
    group by all
),

spend as (
    select
        {{ channel_grouping('null', 'null', 'null', 'network') }} as touch_channel,
        spend_date as activity_date,
        sum(spend) as cost,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from ad_spend
    group by all
),

sends as (
    select
        'email' as touch_channel,
        event_date as activity_date,
        count(*) as emails_sent
    from email_events
    where event_type = 'processed'
    group by all
),

costs as (
    select
        coalesce(s.touch_channel, e.touch_channel) as touch_channel,
        coalesce(s.activity_date, e.activity_date) as activity_date,
        s.cost,
        s.impressions,
        s.clicks,
        e.emails_sent
    from spend as s
    full outer join sends as e using (touch_channel, activity_date)
),

grid as (
    select attribution_model, touch_channel, activity_date from attributed
    union
    select m.attribution_model, c.touch_channel, c.activity_date
    from costs as c
    cross join models as m
)

select
    g.attribution_model || ':' || g.touch_channel || ':' || cast(g.activity_date as varchar)
        as channel_day_key,
    g.attribution_model,
    g.touch_channel,
    g.activity_date,
    coalesce(a.attributed_conversions, 0) as attributed_conversions,
    coalesce(a.attributed_revenue, 0) as attributed_revenue,
    coalesce(c.cost, 0) as cost,
    coalesce(c.impressions, 0) as impressions,
    coalesce(c.clicks, 0) as clicks,
    coalesce(c.emails_sent, 0) as emails_sent,
    coalesce(a.attributed_revenue, 0) / nullif(c.cost, 0) as return_on_ad_spend,
    c.cost / nullif(a.attributed_conversions, 0) as cost_per_acquisition
from grid as g
left join attributed as a using (attribution_model, touch_channel, activity_date)
left join costs as c using (touch_channel, activity_date)
