-- One row per attribution model, campaign and day: conversions and revenue the model credits
-- to the campaign's touches (by conversion day), the campaign's cost that day (ad spend) or
-- e-mails sent, ROAS and cost per acquisition. Ratios hold for the row: over several days,
-- sum the numerators first.
with rollup as (
    {{ attribution_rollup('campaign_id') }}
)

select
    attribution_model || ':' || campaign_id || ':' || cast(activity_date as varchar)
        as campaign_day_key,
    attribution_model,
    campaign_id,
    activity_date,
    channel_of_grain as touch_channel,
    * exclude (attribution_model, campaign_id, activity_date, channel_of_grain)
from rollup
