-- One row per return (web, app and store), with the returned order's person.
with returns as (
    select * from {{ ref('stg_silver__returns') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
)

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
from returns as r
left join orders as o on o.order_id = r.order_id
