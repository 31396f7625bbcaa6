{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lake_files_gone('silver', 'pos_transaction_lines') }}",
    post_hook="{{ record_lake_files_state('silver', 'pos_transaction_lines') }}"
) }}
-- Till lines. Loyalty card and payment card token are hashed; a transaction paid or scanned
-- with either is an identity record of source `pos` (record id = transaction id).
select
    transaction_id || '-' || cast(line_no as varchar) as transaction_line_id,
    transaction_id,
    line_no,
    location_id,
    register_id,
    event_time as occurred_at,
    event_date,
    product_id,
    quantity,
    unit_price,
    coalesce(discount, 0) as discount_amount,
    promo_id,
    pseudonymise(loyalty_card) as loyalty_card_hash,
    pseudonymise(card_token) as card_token_hash,
    (loyalty_card is not null or card_token is not null) as is_identified,
    payment_type,
    _batch_id,
    _ingested_at,
    _lake_file
from {{ lake_files_unread('silver', 'pos_transaction_lines') }}
