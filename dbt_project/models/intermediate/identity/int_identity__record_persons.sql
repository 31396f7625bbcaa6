-- One row per identity source record: the person and household it resolved to. Facts join
-- here on (identity_source, identity_record_hash = pseudonymise(record id)); a record not in
-- the map (not resolved yet, or never identifying: a cash till sale) stays anonymous (null
-- person_id).
select
    identity_source,
    identifier_hash as identity_record_hash,
    person_id,
    household_id,
    match_probability,
    matched_by
from {{ ref('stg_gold__identity_map') }}
where identifier_type = 'record'
qualify row_number() over (
    partition by identity_source, identifier_hash order by person_id
) = 1
