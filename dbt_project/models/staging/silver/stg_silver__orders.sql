{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lake_files_gone('silver', 'orders') }}",
    post_hook="{{ record_lake_files_state('silver', 'orders') }}"
) }}
-- Shop orders (web and app). The identity record is the shop account (customer id) or, for a
-- guest checkout, the order itself; only keyed hashes of e-mail, account and payment card
-- are kept, and no names, phones or street addresses.
select
    order_id,
    order_number,
    channel,
    created_at as ordered_at,
    updated_at,
    cancelled_at,
    is_cancelled,
    financial_status,
    currency,
    total_price,
    line_count,
    case when customer_id is not null then 'shop_customer' else 'shop_guest' end
        as identity_source,
    pseudonymise(coalesce(customer_id, order_id)) as identity_record_hash,
    pseudonymise(customer_id) as customer_id_hash,
    pseudonymise(email) as email_hash,
    pseudonymise(payment_fingerprint) as payment_fingerprint_hash,
    ship_city,
    ship_state,
    ship_country,
    landing_site,
    discount_codes,
    order_date,
    _batch_id,
    _ingested_at,
    _lake_file
from {{ lake_files_unread('silver', 'orders') }}
