select
    click_id,
    campaign_id,
    ad_group,
    network,
    event_time as occurred_at,
    event_date,
    landing_page,
    device_type,
    cost,
    _batch_id,
    _ingested_at
from {{ source('silver', 'ad_clicks') }}
