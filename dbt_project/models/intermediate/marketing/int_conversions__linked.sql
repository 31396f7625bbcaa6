-- Every conversion: a web, app or store order that was not cancelled, linked to its person
-- and keyed like the touches (person, else the unresolved record, else the order alone).
with orders as (
    select * from {{ ref('int_orders__unioned') }}
),

record_persons as (
    select * from {{ ref('int_identity__record_persons') }}
)

select
    o.order_id as conversion_id,
    o.channel as conversion_channel,
    o.order_source,
    o.location_id,
    o.ordered_at as converted_at,
    o.order_date as conversion_date,
    o.net_revenue as conversion_value,
    o.units,
    p.person_id,
    p.household_id,
    coalesce(
        p.{{ journey_owner() }},
        o.identity_source || ':' || o.identity_record_hash,
        'order:' || o.order_id
    ) as journey_key
from orders as o
left join record_persons as p
    on p.identity_source = o.identity_source
    and p.identity_record_hash = o.identity_record_hash
where not o.is_cancelled
