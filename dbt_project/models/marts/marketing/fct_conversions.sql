-- One row per conversion (a web, app or store order not cancelled), with the journey that led
-- to it: how many touches, through which channels, and whether an online touch is linked to a
-- store or app purchase (journey completeness depends on identity resolution).
with conversions as (
    select * from {{ ref('int_conversions__linked') }}
),

journeys as (
    select * from {{ ref('int_touchpoints__journeys') }}
),

journey_stats as (
    select
        conversion_id,
        count(*) as journey_touches,
        count(distinct touch_channel) as journey_channels,
        string_agg(distinct touch_channel, ',' order by touch_channel) as channel_set,
        min(occurred_at) as first_touch_at,
        count(*) filter (where platform in ('web', 'app', 'email', 'ads')
                         and touch_type <> 'order') as online_touches,
        count(*) filter (where touch_channel = 'unassigned') = count(*) as is_unassigned
    from journeys
    where conversion_id is not null
    group by conversion_id
),

-- touches on another platform than the purchase: the online side of a store purchase, the
-- web, e-mail or ad side of an app purchase
cross_platform as (
    select
        j.conversion_id,
        count(*) as cross_platform_touches
    from journeys as j
    inner join conversions as c on c.conversion_id = j.conversion_id
    where j.platform in ('web', 'app', 'email', 'ads')
        and j.touch_type <> 'order'
        and j.platform <> c.conversion_channel
    group by j.conversion_id
)

select
    c.conversion_id,
    c.conversion_channel,
    c.order_source,
    c.location_id,
    c.converted_at,
    c.conversion_date,
    c.conversion_value,
    c.units,
    c.person_id,
    c.household_id,
    c.person_id is null as is_anonymous,
    'conversion:' || c.conversion_id as journey_id,
    s.journey_touches,
    s.journey_channels,
    s.channel_set,
    s.first_touch_at,
    date_diff('second', s.first_touch_at, c.converted_at) / 86400.0 as journey_days,
    s.online_touches,
    s.online_touches > 0 as has_online_touch,
    coalesce(x.cross_platform_touches, 0) as cross_platform_touches,
    coalesce(x.cross_platform_touches, 0) > 0 as has_cross_platform_touch,
    s.is_unassigned
from conversions as c
inner join journey_stats as s on s.conversion_id = c.conversion_id
left join cross_platform as x on x.conversion_id = c.conversion_id
