{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='sync_all_columns',
    pre_hook="{{ lake_files_gone('silver', 'order_lines') }}",
    post_hook="{{ record_lake_files_state('silver', 'order_lines') }}"
) }}
select
    line_id as order_line_id,
    order_id,
    product_id,
    variant_id,
    quantity,
    unit_price,
    coalesce(discount, 0) as discount_amount,
    order_date,
    updated_at,
    _batch_id,
    _ingested_at,
    _lake_file
from {{ lake_files_unread('silver', 'order_lines') }}
