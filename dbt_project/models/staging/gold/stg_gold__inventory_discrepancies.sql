-- Where two systems disagree about stock, with the likely cause.
select
    systems,
    product_id,
    location_id,
    reference,
    units,
    since as discrepant_since,
    cause,
    detail
from {{ source('gold', 'inventory_discrepancies') }}
