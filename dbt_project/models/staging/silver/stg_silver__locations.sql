select
    location_code as location_id,
    type as location_type,
    name as location_name,
    region,
    zone,
    timezone,
    ship_capacity_per_day,
    opened_on
from {{ source('silver', 'locations') }}
