-- One row per canonical product, as the catalog describes it.
select
    product_id,
    title as product_name,
    brand,
    category,
    subcategory,
    price,
    cost,
    supplier_id,
    launched_on,
    status as product_status
from {{ source('silver', 'products') }}
