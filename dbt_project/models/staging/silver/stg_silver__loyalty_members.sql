-- Loyalty members. The member id is the identity record id of source `loyalty` and is kept
-- only as its keyed hash (the key into the identity map); the card number only as a keyed
-- hash (equal to stg_silver__pos_transaction_lines.loyalty_card_hash for the same card).
-- E-mail, phone and street address are reduced to whether the member gave one; names and
-- date of birth are not read at all.
select
    'loyalty' as identity_source,
    pseudonymise(member_id) as identity_record_hash,
    pseudonymise(loyalty_id) as loyalty_card_hash,
    nullif(trim(signup_store), '') as signup_location_id,
    case when nullif(trim(signup_store), '') is null then 'online' else 'store' end
        as signup_channel,
    event_time as signed_up_at,
    cast(timezone('UTC', event_time) as date) as signup_date,
    nullif(trim(email), '') is not null as has_email,
    nullif(trim(phone), '') is not null as has_phone,
    nullif(trim(address_line1), '') is not null as has_postal_address,
    _batch_id,
    _ingested_at
from {{ source('silver', 'loyalty_members') }}
