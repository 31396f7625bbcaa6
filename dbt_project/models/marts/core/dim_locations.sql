-- Stores and warehouses.
select
    location_id,
    location_type,
    location_name,
    region,
    zone,
    timezone,
    ship_capacity_per_day,
    opened_on,
    location_type = 'store' as is_store,
    location_type = 'warehouse' as is_warehouse
from {{ ref('stg_silver__locations') }}
