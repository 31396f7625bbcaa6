-- The inputs of a product's quality score: how often it comes back, what reviewers think of
-- it, and how reliably its supplier delivers.
--   return_rate            units returned / units sold (all channels; cancelled orders are
--                          not sales)
--   review_sentiment       mean of (rating - 1) / 4, in [0, 1]
--   supplier_on_time_rate  share of the supplier's delivered purchase orders with delay_days <= 0
-- quality_score is their weighted mean (0.4 returns as 1 - min(return_rate, 1), 0.4 sentiment,
-- 0.2 supplier), over the components that are known (weights renormalised); null when none is.
with lines as (
    select * from {{ ref('int_order_lines__unioned') }}
),

orders as (
    select * from {{ ref('int_orders__unioned') }}
),

returns as (
    select * from {{ ref('stg_silver__returns') }}
),

reviews as (
    select * from {{ ref('stg_silver__reviews') }}
),

purchase_orders as (
    select * from {{ ref('stg_silver__purchase_orders') }}
),

products as (
    select * from {{ ref('stg_silver__products') }}
),

sold as (
    select l.product_id, cast(sum(l.quantity) as bigint) as units_sold
    from lines as l
    inner join orders as o
        on o.order_id = l.order_id and o.order_source = l.order_source and not o.is_cancelled
    group by l.product_id
),

returned as (
    select product_id, cast(sum(quantity) as bigint) as units_returned, count(*) as return_count
    from returns
    group by product_id
),

reviewed as (
    select
        product_id,
        count(*) as review_count,
        avg(rating) as avg_rating,
        avg(sentiment) as review_sentiment
    from reviews
    group by product_id
),

supplier as (
    select
        supplier_id,
        count(*) filter (where delay_days is not null) as delivered_po_count,
        avg(case when delay_days <= 0 then 1.0 else 0.0 end)
            filter (where delay_days is not null) as supplier_on_time_rate,
        avg(delay_days) as supplier_avg_delay_days
    from purchase_orders
    group by supplier_id
),

components as (
    select
        p.product_id,
        coalesce(s.units_sold, 0) as units_sold,
        coalesce(r.units_returned, 0) as units_returned,
        coalesce(r.return_count, 0) as return_count,
        case when s.units_sold > 0 then coalesce(r.units_returned, 0) / s.units_sold end
            as return_rate,
        coalesce(v.review_count, 0) as review_count,
        v.avg_rating,
        v.review_sentiment,
        coalesce(sp.delivered_po_count, 0) as supplier_delivered_po_count,
        sp.supplier_on_time_rate,
        sp.supplier_avg_delay_days
    from products as p
    left join sold as s on s.product_id = p.product_id
    left join returned as r on r.product_id = p.product_id
    left join reviewed as v on v.product_id = p.product_id
    left join supplier as sp on sp.supplier_id = p.supplier_id
)

select
    *,
    round((
        coalesce(0.4 * (1 - least(return_rate, 1)), 0)
        + coalesce(0.4 * review_sentiment, 0)
        + coalesce(0.2 * supplier_on_time_rate, 0)
    ) / nullif(
        (case when return_rate is not null then 0.4 else 0 end)
        + (case when review_sentiment is not null then 0.4 else 0 end)
        + (case when supplier_on_time_rate is not null then 0.2 else 0 end),
        0
    ), 6) as quality_score  -- rounded: float sums of the weights can exceed 1 by an ulp
from components
