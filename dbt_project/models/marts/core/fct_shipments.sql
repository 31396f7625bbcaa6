-- One row per parcel shipped for a shop order, with the order's channel and person.
with shipments as (
    select * from {{ ref('stg_silver__shipments') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
)

select
    s.shipment_id,
    s.order_id,
    o.channel,
    o.person_id,
    s.location_id,
    s.carrier,
    s.service,
    s.zone,
    s.shipped_at,
    s.ship_date,
    s.promised_delivery,
    s.delivered_at,
    s.is_delivered,
    s.is_on_time,
    s.transit_days,
    s.cost,
    s.units
from shipments as s
left join orders as o on o.order_id = s.order_id
