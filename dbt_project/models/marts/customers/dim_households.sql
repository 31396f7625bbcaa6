-- One row per household: the persons identity resolution finds living together (a person
-- living alone is a household of one), aggregated from dim_customers so that a household's
-- orders, revenue and returns are exactly the sum of its members'. Aggregate only: the member
-- person ids are in dim_customers (household_id), not listed here.
with customers as (
    select * from {{ ref('dim_customers') }}
)

select
    household_id,
    count(*) as persons,
    cast(sum(record_count) as bigint) as records,
    min(first_seen) as first_seen,
    max(last_seen) as last_seen,
    coalesce(list_sort(list_distinct(list(city))), []) as cities,
    coalesce(list_sort(list_distinct(list(postcode))), []) as postcodes,
    coalesce(list_sort(list_distinct(list(country))), []) as countries,
    coalesce(list_sort(list_distinct(flatten(list(sources)))), []) as sources,
    coalesce(list_sort(list_distinct(flatten(list(order_channels)))), []) as order_channels,
    coalesce(list_sort(list_distinct(flatten(list(interaction_channels)))), [])
        as interaction_channels,
    cast(sum(device_count) as bigint) as device_count,
    cast(sum(order_count) as bigint) as order_count,
    sum(total_revenue) as total_revenue,
    sum(total_revenue) / nullif(sum(order_count), 0) as avg_order_value,
    min(first_order_at) as first_order_at,
    max(last_order_at) as last_order_at,
    count(*) filter (where order_count > 0) as ordering_persons,
    cast(sum(interaction_count) as bigint) as interaction_count,
    cast(sum(return_count) as bigint) as return_count,
    sum(refund_amount) as refund_amount
from customers
group by household_id
