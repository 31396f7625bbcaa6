-- One row per attribution model, channel group and day: conversions and revenue the model
-- credits to the channel (by conversion day), next to what the channel cost that day (ad
-- spend by network; e-mail sends, which carry no cost in the feeds), with ROAS and cost per
-- acquisition. Ratios hold for the row: over several days, sum the numerators first.
with rollup as (
    {{ attribution_rollup('touch_channel') }}
)

select
    attribution_model || ':' || touch_channel || ':' || cast(activity_date as varchar)
        as channel_day_key,
    * exclude (channel_of_grain)
from rollup
