select
    supplier_id,
    name as supplier_name,
    country as supplier_country,
    lead_time_days
from {{ source('silver', 'suppliers') }}
