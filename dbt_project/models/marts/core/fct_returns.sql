-- One row per return (web, app and store), with the returned order's person.
select
    r.return_id,
    r.order_id,
    r.channel,
    o.person_id,
    r.product_id,
    r.quantity,
    r.reason,
    r.disposition,
    r.location_id,
    r.returned_at,
    r.return_date,
    r.refund_amount
from {{ ref('stg_silver__returns') }} as r
left join {{ ref('fct_orders') }} as o on o.order_id = r.order_id
