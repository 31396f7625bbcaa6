-- One row per attribution model, campaign and day: conversions and revenue the model credits
-- to the campaign's touches (by conversion day), the campaign's cost that day (ad spend) or
-- e-mails sent, ROAS and cost per acquisition. Ratios hold for the row: over several days,
-- sum the numerators first.
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
        campaign_id,
        conversion_date as activity_date,
        any_value(touch_channel) as touch_channel,
        sum(credit) as attributed_conversions,
        sum(attributed_revenue) as attributed_revenue
    from credits
    where campaign_id is not null
    group by attribution_model, campaign_id, conversion_date
),

spend as (
    select
        campaign_id,
        spend_date as activity_date,
        any_value({{ channel_grouping('null', 'null', 'null', 'network') }}) as touch_channel,
        sum(spend) as cost,
        sum(impressions) as impressions,
        sum(clicks) as clicks
    from ad_spend
    group by campaign_id, spend_date
),

sends as (
    select
        campaign_id,
        event_date as activity_date,
        'email' as touch_channel,
        count(*) as emails_sent
    from email_events
    where event_type = 'processed' and campaign_id is not null
    group by campaign_id, event_date
),

costs as (
    select
        coalesce(s.campaign_id, e.campaign_id) as campaign_id,
        coalesce(s.activity_date, e.activity_date) as activity_date,
        coalesce(s.touch_channel, e.touch_channel) as touch_channel,
        s.cost,
        s.impressions,
        s.clicks,
        e.emails_sent
    from spend as s
    full outer join sends as e using (campaign_id, activity_date)
),

grid as (
    select attribution_model, campaign_id, activity_date from attributed
    union
    select m.attribution_model, c.campaign_id, c.activity_date
    from costs as c
    cross join models as m
)

select
    g.attribution_model || ':' || g.campaign_id || ':' || cast(g.activity_date as varchar)
        as campaign_day_key,
    g.attribution_model,
    g.campaign_id,
    g.activity_date,
    coalesce(a.touch_channel, c.touch_channel) as touch_channel,
    coalesce(a.attributed_conversions, 0) as attributed_conversions,
    coalesce(a.attributed_revenue, 0) as attributed_revenue,
    coalesce(c.cost, 0) as cost,
    coalesce(c.impressions, 0) as impressions,
    coalesce(c.clicks, 0) as clicks,
    coalesce(c.emails_sent, 0) as emails_sent,
    coalesce(a.attributed_revenue, 0) / nullif(c.cost, 0) as return_on_ad_spend,
    c.cost / nullif(a.attributed_conversions, 0) as cost_per_acquisition
from grid as g
left join attributed as a using (attribution_model, campaign_id, activity_date)
left join costs as c using (campaign_id, activity_date)
