select
    line_id as order_line_id,
    order_id,
    product_id,
    variant_id,
    quantity,
    unit_price,
    coalesce(discount, 0) as discount_amount,
    order_date,
    updated_at,
    _batch_id,
    _ingested_at
from {{ source('silver', 'order_lines') }}
