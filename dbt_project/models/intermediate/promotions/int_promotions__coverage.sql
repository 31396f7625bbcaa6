-- One row per promotion, product category and channel it covers: a promotion with a category
-- covers that category; a sitewide promotion (no category) covers every catalog category. Each
-- is crossed with the promotion's channels (web, app, store).
with promotions as (
    select * from {{ ref('stg_silver__promotions') }}
),

products as (
    select * from {{ ref('stg_silver__products') }}
),

catalog_categories as (
    select distinct category
    from products
    where category is not null
),

promotion_categories as (
    select p.promo_id, p.category, p.channels, p.start_date, p.end_date
    from promotions as p
    where not p.is_sitewide
    union all
    select p.promo_id, c.category, p.channels, p.start_date, p.end_date
    from promotions as p
    cross join catalog_categories as c
    where p.is_sitewide
),

by_channel as (
    select promo_id, category, unnest(channels) as channel, start_date, end_date
    from promotion_categories
)

select
    promo_id || ':' || category || ':' || channel as coverage_key,
    promo_id,
    category,
    channel,
    start_date,
    end_date
from by_channel
