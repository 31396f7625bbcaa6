select
    spend_id,
    date as spend_date,
    campaign_id,
    network,
    impressions,
    clicks,
    spend
from {{ source('silver', 'ad_spend') }}
