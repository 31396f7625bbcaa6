-- One row per promotion and day it ran (days with sales data only): units and net revenue of
-- non-cancelled order lines (fct_order_lines) in the categories and channels the promotion
-- covers (a sitewide promotion covers every category), the part sold under the promotion
-- itself (its till promo id or its code: int_promotions__redemptions), against a baseline.
--
-- Day: a store line's day is its local date at the store (dim_locations.timezone); a shop
-- (web, app) line's day is its date in var('shop_timezone'), UTC unless set.
--
-- Baseline, per covered (category, channel) and summed over them: the mean daily units (and
-- net revenue) of that category and channel on the same weekday in the 4 weeks (28 days)
-- before the promotion starts, leaving out days on which any promotion covered that category
-- in that channel and days before the first day with sales data. A day with no sales counts
-- as 0. When a covered (category, channel) has no such day, the day has no baseline (null).
--   units_lift = units / baseline_units - 1 (null without a positive baseline); likewise
--   revenue_lift. incremental_units = units - baseline_units.
with coverage as (
    select * from {{ ref('int_promotions__coverage') }}
),

redemptions as (
    select * from {{ ref('int_promotions__redemptions') }}
),

order_lines as (
    select * from {{ ref('fct_order_lines') }}
),

orders as (
    select order_id, is_cancelled from {{ ref('fct_orders') }}
),

products as (
    select product_id, category from {{ ref('dim_products') }}
),

locations as (
    select location_id, timezone from {{ ref('dim_locations') }}
),

sales_span as (
    select min(order_date) as first_day, max(order_date) as last_day from order_lines
),

sold as (
    select
        l.order_line_id,
        coalesce(
            case
                when l.channel = 'store' then cast(timezone(loc.timezone, l.ordered_at) as date)
                else cast(timezone('{{ var("shop_timezone", "UTC") }}', l.ordered_at) as date)
            end,
            l.order_date
        ) as sales_date,
        p.category,
        l.channel,
        l.quantity,
        l.net_revenue
    from order_lines as l
    left join orders as o on o.order_id = l.order_id
    left join products as p on p.product_id = l.product_id
    left join locations as loc on loc.location_id = l.location_id
    where not coalesce(o.is_cancelled, false)
),

daily_sales as (
    select
        sales_date,
        category,
        channel,
        cast(sum(quantity) as bigint) as units,
        sum(net_revenue) as revenue
    from sold
    group by sales_date, category, channel
),

redeemed_daily as (
    select
        r.promo_id,
        s.sales_date,
        s.category,
        s.channel,
        sum(s.quantity) as redeemed_units,
        sum(s.net_revenue) as redeemed_revenue
    from sold as s
    inner join redemptions as r on r.order_line_id = s.order_line_id
    group by r.promo_id, s.sales_date, s.category, s.channel
),

promotion_days as (
    -- every day of every promotion, per covered (category, channel)
    select
        promo_id,
        category,
        channel,
        start_date,
        cast(unnest(generate_series(
            cast(start_date as timestamp), cast(end_date as timestamp), interval 1 day
        )) as date) as promotion_date
    from coverage
),

window_days as (
    -- the 28 days before each promotion starts, per covered (category, channel)
    select
        promo_id,
        category,
        channel,
        cast(unnest(generate_series(
            cast(start_date - 28 as timestamp), cast(start_date - 1 as timestamp), interval 1 day
        )) as date) as baseline_date
    from coverage
),

baseline_days as (
    select w.promo_id, w.category, w.channel, w.baseline_date
    from window_days as w
    cross join sales_span as span
    where w.baseline_date >= span.first_day
        and not exists (
            select 1
            from promotion_days as other
            where other.category = w.category
                and other.channel = w.channel
                and other.promotion_date = w.baseline_date
        )
),

baseline as (
    select
        b.promo_id,
        b.category,
        b.channel,
        isodow(b.baseline_date) as iso_day_of_week,
        count(*) as baseline_days,
        avg(coalesce(s.units, 0)) as baseline_units,
        avg(coalesce(s.revenue, 0)) as baseline_revenue
    from baseline_days as b
    left join daily_sales as s
        on s.sales_date = b.baseline_date
        and s.category = b.category
        and s.channel = b.channel
    group by b.promo_id, b.category, b.channel, isodow(b.baseline_date)
),

segment_days as (
    select
        d.promo_id,
        d.promotion_date,
        date_diff('day', d.start_date, d.promotion_date) + 1 as day_of_promotion,
        d.category,
        d.channel,
        coalesce(s.units, 0) as units,
        coalesce(s.revenue, 0) as revenue,
        coalesce(r.redeemed_units, 0) as redeemed_units,
        coalesce(r.redeemed_revenue, 0) as redeemed_revenue,
        b.baseline_units,
        b.baseline_revenue,
        coalesce(b.baseline_days, 0) as baseline_days
    from promotion_days as d
    cross join sales_span as span
    left join daily_sales as s
        on s.sales_date = d.promotion_date
        and s.category = d.category
        and s.channel = d.channel
    left join redeemed_daily as r
        on r.promo_id = d.promo_id
        and r.sales_date = d.promotion_date
        and r.category = d.category
        and r.channel = d.channel
    left join baseline as b
        on b.promo_id = d.promo_id
        and b.category = d.category
        and b.channel = d.channel
        and b.iso_day_of_week = isodow(d.promotion_date)
    where d.promotion_date between span.first_day and span.last_day
),

daily as (
    select
        promo_id,
        promotion_date,
        min(day_of_promotion) as day_of_promotion,
        count(*) as covered_segments,
        cast(sum(units) as bigint) as units,
        sum(revenue) as revenue,
        sum(redeemed_units) as redeemed_units,
        sum(redeemed_revenue) as redeemed_revenue,
        case when bool_and(baseline_units is not null) then sum(baseline_units) end
            as baseline_units,
        case when bool_and(baseline_revenue is not null) then sum(baseline_revenue) end
            as baseline_revenue,
        min(baseline_days) as baseline_days
    from segment_days
    group by promo_id, promotion_date
)

select
    promo_id || ':' || cast(promotion_date as varchar) as promotion_day_key,
    promo_id,
    promotion_date,
    isodow(promotion_date) as iso_day_of_week,
    day_of_promotion,
    covered_segments,
    cast(units as bigint) as units,
    revenue,
    cast(redeemed_units as bigint) as redeemed_units,
    redeemed_revenue,
    baseline_days,
    baseline_units,
    baseline_revenue,
    units - baseline_units as incremental_units,
    revenue - baseline_revenue as incremental_revenue,
    case when baseline_units > 0 then units / baseline_units - 1 end as units_lift,
    case when baseline_revenue > 0 then revenue / baseline_revenue - 1 end as revenue_lift
from daily
