-- Purchase-order events, one row per event: `created` carries the units ordered and the
-- promised date, `delivered` the units received (a PO can be received in several deliveries).
select
    event_id,
    po_number,
    event as event_type,
    supplier_id,
    product_id,
    wms_item_code,
    location_id,
    qty as quantity,
    promised_date,
    event_time as occurred_at,
    cast(timezone('UTC', event_time) as date) as event_date,
    _batch_id,
    _ingested_at
from {{ source('silver', 'purchase_order_events') }}
