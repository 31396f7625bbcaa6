-- One row per conversion, touch of its journey and attribution model: the share of the
-- conversion (and of its revenue) the model credits to that touch. Credits of one conversion
-- sum to 1 per model; a touch after its conversion never gets credit.
with credits as (
    select * from {{ ref('int_attribution__credits') }}
),

touchpoints as (
    select * from {{ ref('fct_touchpoints') }}
),

conversions as (
    select * from {{ ref('fct_conversions') }}
)

select
    cr.attribution_model || ':' || cr.conversion_id || ':' || cr.touch_id as attribution_key,
    cr.attribution_model,
    cr.conversion_id,
    cr.touch_id,
    cr.journey_id,
    cr.touch_channel,
    cr.campaign_id,
    t.touch_type,
    t.occurred_at as touched_at,
    t.position_in_journey,
    t.journey_length,
    c.conversion_channel,
    c.converted_at,
    c.conversion_date,
    c.person_id,
    c.household_id,
    cr.credit,
    cr.attributed_revenue
from credits as cr
inner join conversions as c on c.conversion_id = cr.conversion_id
left join touchpoints as t on t.touch_id = cr.touch_id
