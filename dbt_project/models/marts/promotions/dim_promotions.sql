-- One row per promotion: its calendar, discount, code, channels and the categories it covers
-- (every catalog category for a sitewide one), where it stands against the sales data
-- (scheduled, running, ended), and its totals from fct_promotion_performance.
--   units_lift  units / baseline units - 1 over the promotion's days that have a baseline
--               (see fct_promotion_performance for the baseline method)
with promotions as (
    select * from {{ ref('stg_silver__promotions') }}
),

coverage as (
    select * from {{ ref('int_promotions__coverage') }}
),

promotion_performance as (
    select * from {{ ref('fct_promotion_performance') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

promotion_categories as (
    select
        promo_id,
        list(distinct category order by category) as covered_categories
    from coverage
    group by promo_id
),

performance_totals as (
    select
        promo_id,
        count(*) as days_observed,
        cast(sum(units) as bigint) as units,
        sum(revenue) as revenue,
        cast(sum(redeemed_units) as bigint) as redeemed_units,
        sum(redeemed_revenue) as redeemed_revenue,
        count(baseline_units) as days_with_baseline,
        sum(units) filter (where baseline_units is not null) as units_on_baseline_days,
        sum(baseline_units) as baseline_units,
        sum(revenue) filter (where baseline_revenue is not null) as revenue_on_baseline_days,
        sum(baseline_revenue) as baseline_revenue
    from promotion_performance
    group by promo_id
),

sales_span as (
    select max(order_date) as last_day from order_lines
)

select
    p.promo_id,
    p.promotion_name,
    p.promo_code,
    p.discount_pct,
    p.category,
    p.is_sitewide,
    coalesce(c.covered_categories, []) as covered_categories,
    p.channels,
    p.start_date,
    p.end_date,
    p.duration_days,
    isodow(p.start_date) as start_iso_day_of_week,
    case
        when span.last_day is null or p.start_date > span.last_day then 'scheduled'
        when p.end_date > span.last_day then 'running'
        else 'ended'
    end as promotion_status,
    coalesce(f.days_observed, 0) as days_observed,
    coalesce(f.units, 0) as units,
    coalesce(f.revenue, 0) as revenue,
    coalesce(f.redeemed_units, 0) as redeemed_units,
    coalesce(f.redeemed_revenue, 0) as redeemed_revenue,
    coalesce(f.days_with_baseline, 0) as days_with_baseline,
    f.baseline_units,
    f.baseline_revenue,
    case when f.baseline_units > 0 then f.units_on_baseline_days / f.baseline_units - 1 end
        as units_lift,
    case when f.baseline_revenue > 0 then f.revenue_on_baseline_days / f.baseline_revenue - 1 end
        as revenue_lift
from promotions as p
cross join sales_span as span
left join promotion_categories as c on c.promo_id = p.promo_id
left join performance_totals as f on f.promo_id = p.promo_id
