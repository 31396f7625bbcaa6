-- What each campaign cost or sent per day, with its channel group: ad spend, impressions and
-- clicks from the networks' reports (channel by network), e-mails sent (no cost in the feeds).
with ad_spend as (
    select * from {{ ref('stg_silver__ad_spend') }}
),

email_events as (
    select * from {{ ref('stg_silver__email_events') }}
),

spend as (
    select
        campaign_id,
        spend_date as activity_date,
        min({{ channel_grouping('null', 'null', 'null', 'network') }}) as touch_channel,
        sum(spend) as cost,
        cast(sum(impressions) as bigint) as impressions,
        cast(sum(clicks) as bigint) as clicks
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
)

select
    coalesce(s.campaign_id, e.campaign_id) as campaign_id,
    coalesce(s.activity_date, e.activity_date) as activity_date,
    coalesce(s.touch_channel, e.touch_channel) as touch_channel,
    coalesce(s.cost, 0) as cost,
    coalesce(s.impressions, 0) as impressions,
    coalesce(s.clicks, 0) as clicks,
    coalesce(e.emails_sent, 0) as emails_sent
from spend as s
full outer join sends as e using (campaign_id, activity_date)
