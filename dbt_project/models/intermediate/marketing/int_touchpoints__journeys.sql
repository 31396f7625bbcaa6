-- Touches cut into journeys. A conversion's journey is its person's touches after their
-- previous conversion and within the look-back window (var attribution_lookback_days, default
-- 30) before it; the touches that no conversion claims form non-converting journeys (one per
-- stretch between conversions, and the stretch after the last one), which data-driven models
-- need. A conversion no touch leads to gets one 'unassigned' touch at its own time, so every
-- conversion has a journey.
with touches as (
    select * from {{ ref('int_touchpoints__unioned') }}
),

conversions as (
    select * from {{ ref('int_conversions__linked') }}
),

-- one conversion per journey key and time, the smallest id: an as-of join picks any of two
-- conversions at the same time, and the journeys would differ between two builds of the same
-- rows (the other one is unled: it gets its own unassigned touch)
conversion_times as (
    select
        journey_key,
        converted_at,
        min(conversion_id) as conversion_id
    from conversions
    group by journey_key, converted_at
),

next_conversion as (
    select
        t.*,
        c.conversion_id as next_conversion_id,
        c.converted_at as next_converted_at
    from touches as t
    asof left join conversion_times as c
        on c.journey_key = t.journey_key
        and c.converted_at >= t.occurred_at
),

assigned as (
    select
        * exclude (next_conversion_id, next_converted_at),
        case
            when next_converted_at - occurred_at
                <= to_days({{ var('attribution_lookback_days', 30) }})
                then next_conversion_id
        end as conversion_id,
        case
            when next_converted_at - occurred_at
                <= to_days({{ var('attribution_lookback_days', 30) }})
                then next_converted_at
        end as converted_at,
        coalesce(next_conversion_id, 'open') as stretch
    from next_conversion
),

unled as (
    select
        'order:' || c.conversion_id as touch_id,
        'order' as touch_type,
        c.conversion_channel as platform,
        'unassigned' as touch_channel,
        cast(null as varchar) as campaign_id,
        c.converted_at as occurred_at,
        c.person_id,
        c.household_id,
        cast(null as varchar) as identity_source,
        cast(null as varchar) as identity_record_hash,
        c.conversion_id as order_id,
        c.journey_key,
        c.conversion_id,
        c.converted_at,
        c.conversion_id as stretch
    from conversions as c
    where c.conversion_id not in (
        select conversion_id from assigned where conversion_id is not null
    )
),

-- the window runs over the non-converting touches only (a converting touch's journey is its
-- conversion): over every touch it was a third of the model's time at 10M events
open_touches as (
    select
        *,
        'open:' || min(touch_id) over (partition by journey_key, stretch) as journey_id
    from assigned
    where conversion_id is null
)

-- a journey's id never names its person (person ids are labels that differ between runs):
-- the conversion's id, or the first touch of a non-converting journey
select *, 'conversion:' || conversion_id as journey_id
from assigned
where conversion_id is not null
union all by name
select *, 'conversion:' || conversion_id as journey_id
from unled
union all by name
select * from open_touches
