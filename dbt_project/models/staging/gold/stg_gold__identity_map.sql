-- The identity map as written by identity resolution (keyed hashes only).
select
    source as identity_source,
    identifier_type,
    identifier_hash,
    person_id,
    household_id,
    match_probability,
    matched_by
from {{ source('gold', 'identity_map') }}
