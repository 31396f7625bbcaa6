-- Purchase orders as silver folds them from their events (one row per PO, which carries one
-- product line): ordered and received units, the promised date and the first receipt.
select
    po_number,
    supplier_id,
    product_id,
    wms_item_code,
    location_id,
    ordered_qty,
    promised_date,
    ordered_at,
    delivered_at,
    delivered_qty,
    delay_days,
    status as po_status,
    _batch_id,
    _ingested_at
from {{ source('silver', 'purchase_orders') }}
