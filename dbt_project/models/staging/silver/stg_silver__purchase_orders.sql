select
    po_number,
    supplier_id,
    product_id,
    location_id,
    ordered_qty,
    promised_date,
    ordered_at,
    delivered_at,
    delivered_qty,
    delay_days,
    status as po_status
from {{ source('silver', 'purchase_orders') }}
