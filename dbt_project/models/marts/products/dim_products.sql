-- One row per canonical product: catalog attributes, every system's codes, its supplier and a
-- quality score from return rate, review sentiment and supplier reliability
-- (see int_products__quality for the formula).
with products as (
    select * from {{ ref('stg_silver__products') }}
),

source_codes as (
    select * from {{ ref('int_products__source_codes') }}
),

suppliers as (
    select * from {{ ref('stg_silver__suppliers') }}
),

quality as (
    select * from {{ ref('int_products__quality') }}
)

select
    p.product_id,
    p.product_name,
    p.brand,
    p.category,
    p.subcategory,
    p.price,
    p.cost,
    p.price - p.cost as unit_margin,
    p.launched_on,
    p.product_status,
    c.web_variant_ids,
    c.pos_skus,
    c.wms_item_codes,
    p.supplier_id,
    s.supplier_name,
    s.supplier_country,
    s.lead_time_days as supplier_lead_time_days,
    q.units_sold,
    q.units_returned,
    q.return_rate,
    q.review_count,
    q.avg_rating,
    q.review_sentiment,
    q.supplier_delivered_po_count,
    q.supplier_on_time_rate,
    q.supplier_avg_delay_days,
    q.quality_score
from products as p
left join source_codes as c on c.product_id = p.product_id
left join suppliers as s on s.supplier_id = p.supplier_id
left join quality as q on q.product_id = p.product_id
