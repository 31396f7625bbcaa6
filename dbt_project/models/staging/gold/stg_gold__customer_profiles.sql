select
    person_id,
    household_id,
    city,
    postcode,
    state,
    country,
    first_seen,
    last_seen,
    sources,
    device_count,
    records as record_count,
    name_hash,
    address_hash,
    email_hashes,
    phone_hashes
from {{ source('gold', 'customer_profiles') }}
