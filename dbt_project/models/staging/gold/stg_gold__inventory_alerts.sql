-- Phantom (negative) stock episodes past the watermark, as inventory writes them.
select
    product_id,
    location_id,
    since as opened_at,
    until as closed_at,
    min_on_hand,
    trigger_event,
    trigger_kind,
    trigger_source,
    events as episode_events,
    last_count_event,
    status as alert_status
from {{ source('gold', 'inventory_alerts') }}
