-- The promotion calendar. `channels` arrives ';'-separated and becomes a sorted list; a
-- promotion without a category is sitewide (it covers every category).
select
    promo_id,
    name as promotion_name,
    nullif(trim(category), '') as category,
    nullif(trim(category), '') is null as is_sitewide,
    discount_pct,
    start_date,
    end_date,
    date_diff('day', start_date, end_date) + 1 as duration_days,
    list_sort(list_distinct(list_filter(
        regexp_split_to_array(lower(trim(coalesce(channels, ''))), '\s*;\s*'),
        lambda c: c <> ''
    ))) as channels,
    nullif(trim(code), '') as promo_code
from {{ source('silver', 'promotions') }}
