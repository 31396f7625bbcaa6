select
    product_id,
    location_id,
    on_hand,
    reserved,
    available_to_promise,
    last_event_time,
    last_count_time,
    events as ledger_events,
    shrinkage,
    inbound,
    next_expected_date,
    in_transit_out,
    at_risk
from {{ source('gold', 'inventory_positions') }}
