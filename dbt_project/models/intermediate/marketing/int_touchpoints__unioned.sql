-- Every marketing touch of a person, one row each, with its channel group: web and app visits
-- (classified by their landing tags and referrer), e-mail opens and clicks, ad clicks that
-- never landed a tracked visit, and store visits (one per till transaction). A visit stands
-- for the ad click or e-mail click that opened it, so neither is counted twice.
with clickstream as (
    select * from {{ ref('stg_silver__clickstream_events') }}
),

email_events as (
    select * from {{ ref('stg_silver__email_events') }}
),

ad_clicks as (
    select * from {{ ref('stg_silver__ad_clicks') }}
),

orders as (
    select * from {{ ref('int_orders__unioned') }}
),

record_persons as (
    select * from {{ ref('int_identity__record_persons') }}
),

email_campaigns as (
    select distinct campaign_id from email_events where campaign_id is not null
),

-- each field from the session's first event that has it; two events at the same time are
-- ordered by their id, so a build never picks between them at random
sessions as (
    select
        session_key,
        min(channel) as platform,
        min(occurred_at) as occurred_at,
        arg_min(identity_source, (occurred_at, event_id)) as identity_source,
        arg_min(identity_record_hash, (occurred_at, event_id)) as identity_record_hash,
        arg_min(referrer, (occurred_at, event_id)) as referrer,
        arg_min(utm_source, (occurred_at, event_id)) as utm_source,
        arg_min(utm_medium, (occurred_at, event_id)) as utm_medium,
        arg_min(campaign_id, (occurred_at, event_id)) filter (where campaign_id is not null)
            as campaign_id,
        arg_min(click_id, (occurred_at, event_id)) filter (where click_id is not null) as click_id,
        min(order_id) filter (where event_type = 'purchase') as order_id
    from clickstream
    group by session_key
),

visits as (
    select
        'session:' || s.session_key as touch_id,
        case s.platform when 'app' then 'app_session' else 'web_session' end as touch_type,
        s.platform,
        case
            -- a campaign without tags (an app deep link) is known by whose campaign it is
            when a.network is null and s.utm_medium is null and s.campaign_id is not null
                and s.campaign_id in (select campaign_id from email_campaigns) then 'email'
            else {{ channel_grouping('s.utm_medium', 's.utm_source', 's.referrer', 'a.network') }}
        end as touch_channel,
        coalesce(s.campaign_id, a.campaign_id) as campaign_id,
        s.occurred_at,
        s.identity_source,
        s.identity_record_hash,
        s.order_id
    from sessions as s
    left join ad_clicks as a on a.click_id = s.click_id
),

opens_and_clicks as (
    select
        'email:' || event_id as touch_id,
        'email_' || event_type as touch_type,
        'email' as platform,
        'email' as touch_channel,
        campaign_id,
        occurred_at,
        identity_source,
        identity_record_hash,
        cast(null as varchar) as order_id
    from email_events
    where event_type in ('open', 'click')
),

unlanded_ad_clicks as (
    select
        'ad:' || a.click_id as touch_id,
        'ad_click' as touch_type,
        'ads' as platform,
        {{ channel_grouping('null', 'null', 'null', 'a.network') }} as touch_channel,
        a.campaign_id,
        a.occurred_at,
        cast(null as varchar) as identity_source,
        cast(null as varchar) as identity_record_hash,
        cast(null as varchar) as order_id
    from ad_clicks as a
    where a.click_id not in (select click_id from sessions where click_id is not null)
),

store_visits as (
    select
        'store:' || order_id as touch_id,
        'store_visit' as touch_type,
        'store' as platform,
        'store' as touch_channel,
        cast(null as varchar) as campaign_id,
        ordered_at as occurred_at,
        identity_source,
        identity_record_hash,
        order_id
    from orders
    where order_source = 'pos'
),

touches as (
    select * from visits
    union all by name
    select * from opens_and_clicks
    union all by name
    select * from unlanded_ad_clicks
    union all by name
    select * from store_visits
),

linked as (
    select
        t.*,
        p.person_id,
        p.household_id
    from touches as t
    left join record_persons as p
        on p.identity_source = t.identity_source
        and p.identity_record_hash = t.identity_record_hash
),

-- an e-mail click that opened a visit of the same person within 30 minutes is that visit
landed_email_clicks as (
    select distinct c.touch_id
    from linked as c
    inner join linked as v
        on v.person_id = c.person_id
        and v.campaign_id = c.campaign_id
        and v.touch_type in ('web_session', 'app_session')
        and v.occurred_at between c.occurred_at - interval 1 minute
        and c.occurred_at + interval 30 minute
    where c.touch_type = 'email_click'
)

select
    touch_id,
    touch_type,
    platform,
    touch_channel,
    campaign_id,
    occurred_at,
    person_id,
    household_id,
    identity_source,
    identity_record_hash,
    order_id,
    -- whose journey: the person (or household), else the unresolved record, else the order
    -- or the touch alone
    coalesce(
        {{ journey_owner() }},
        identity_source || ':' || identity_record_hash,
        'order:' || order_id,
        'touch:' || touch_id
    ) as journey_key
from linked
where touch_id not in (select touch_id from landed_email_clicks)
