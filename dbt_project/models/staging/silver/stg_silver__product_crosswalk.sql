-- Every source system's product code and the canonical product it maps to.
select
    system as source_system,
    code as source_code,
    product_id
from {{ source('silver', 'product_crosswalk') }}
