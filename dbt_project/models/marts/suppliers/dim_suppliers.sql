-- One row per supplier: who they are, what they promise and what they deliver (from
-- fct_purchase_orders), and how their products fare with customers (from dim_products).
-- Purchasing figures count "due" PO lines only: received, or open past their promised date
-- (overdue); lines not due yet are left out, as nothing could have been delivered late yet.
--   fill_rate      sum(least(received, ordered)) / sum(ordered) over due lines (an overdue
--                  line counts as nothing received; over-delivery does not lift the rate)
--   on_time_share  due lines received on or before their promised date / due lines
--   lead times     quoted (supplier master) vs promised on its POs (promised - order date)
--                  vs observed (first receipt - order date, received lines)
--   return_rate    units returned / units sold over the supplier's products, all channels
--   avg_rating     mean rating of all reviews of the supplier's products
with suppliers as (
    select * from {{ ref('stg_silver__suppliers') }}
),

po_lines as (
    select * from {{ ref('fct_purchase_orders') }}
),

products as (
    select * from {{ ref('dim_products') }}
),

purchasing as (
    select
        supplier_id,
        count(*) as po_line_count,
        count(*) filter (where is_received) as received_po_line_count,
        count(*) filter (where delivery_status = 'overdue') as overdue_po_line_count,
        count(*) filter (where delivery_status = 'not_due') as not_due_po_line_count,
        count(*) filter (where delivery_status = 'late') as late_po_line_count,
        avg(promised_lead_days) as avg_promised_lead_days,
        avg(observed_lead_days) as avg_observed_lead_days,
        max(observed_lead_days) as max_observed_lead_days,
        avg(delay_days) as avg_delay_days,
        max(late_days) as max_late_days,
        cast(sum(ordered_qty) filter (where delivery_status <> 'not_due') as bigint)
            as due_ordered_units,
        cast(sum(least(received_qty, ordered_qty)) filter (where delivery_status <> 'not_due')
            as bigint) as due_received_units,
        cast(coalesce(sum(short_qty), 0) as bigint) as short_units,
        avg(case when is_on_time then 1.0 else 0.0 end) filter (where is_on_time is not null)
            as on_time_share,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at
    from po_lines
    group by supplier_id
),

quality as (
    select
        supplier_id,
        count(*) as product_count,
        count(*) filter (where product_status = 'active') as active_product_count,
        cast(sum(units_sold) as bigint) as units_sold,
        cast(sum(units_returned) as bigint) as units_returned,
        cast(sum(review_count) as bigint) as review_count,
        sum(avg_rating * review_count) / nullif(sum(review_count), 0) as avg_rating
    from products
    group by supplier_id
)

select
    s.supplier_id,
    s.supplier_name,
    s.supplier_country,
    s.lead_time_days as quoted_lead_time_days,
    coalesce(q.product_count, 0) as product_count,
    coalesce(q.active_product_count, 0) as active_product_count,
    coalesce(p.po_line_count, 0) as po_line_count,
    coalesce(p.received_po_line_count, 0) as received_po_line_count,
    coalesce(p.late_po_line_count, 0) as late_po_line_count,
    coalesce(p.overdue_po_line_count, 0) as overdue_po_line_count,
    coalesce(p.not_due_po_line_count, 0) as not_due_po_line_count,
    p.avg_promised_lead_days,
    p.avg_observed_lead_days,
    p.max_observed_lead_days,
    p.avg_observed_lead_days - s.lead_time_days as lead_time_gap_days,
    p.avg_delay_days,
    p.max_late_days,
    coalesce(p.due_ordered_units, 0) as due_ordered_units,
    coalesce(p.due_received_units, 0) as due_received_units,
    coalesce(p.short_units, 0) as short_units,
    p.due_received_units / nullif(p.due_ordered_units, 0) as fill_rate,
    p.on_time_share,
    p.first_ordered_at,
    p.last_ordered_at,
    coalesce(q.units_sold, 0) as units_sold,
    coalesce(q.units_returned, 0) as units_returned,
    q.units_returned / nullif(q.units_sold, 0) as return_rate,
    coalesce(q.review_count, 0) as review_count,
    q.avg_rating
from suppliers as s
left join purchasing as p on p.supplier_id = s.supplier_id
left join quality as q on q.supplier_id = s.supplier_id
