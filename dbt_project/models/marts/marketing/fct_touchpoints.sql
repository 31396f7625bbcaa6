-- One row per marketing touch: who, which channel and campaign, when, the journey it belongs
-- to, its position there, and whether that journey converted. The input of attribution
-- (lakehouse.marketing.attribute reads exactly these columns).
with journeys as (
    select * from {{ ref('int_touchpoints__journeys') }}
)

select
    touch_id,
    journey_id,
    touch_type,
    platform,
    touch_channel,
    campaign_id,
    occurred_at,
    cast(occurred_at as date) as touch_date,
    person_id,
    household_id,
    conversion_id,
    converted_at,
    conversion_id is not null as is_converting_journey,
    row_number() over (partition by journey_id order by occurred_at, touch_id)
        as position_in_journey,
    count(*) over (partition by journey_id) as journey_length,
    date_diff('second', occurred_at, converted_at) / 86400.0 as days_before_conversion
from journeys
