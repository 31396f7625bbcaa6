-- One row per purchase-order line (a PO carries one product line, so po_number is the key):
-- which supplier sent what to which warehouse, units ordered vs received, promised vs actual.
-- Dates are UTC dates, as silver's delay_days.
--   promised_lead_days  promised_date - order date
--   observed_lead_days  first receipt date - order date (receipts: the PO's delivered events)
--   delay_days          first receipt date - promised_date (negative: early); null while open
--   delivery_status     on_time (received on or before promised_date) | late (received after
--                       it) | overdue (open, promised_date before the PO feed's latest event
--                       date, `as_of_date`) | not_due (open, not due yet)
--   late_days           days after promised_date: max(delay_days, 0) once received, days
--                       overdue as of as_of_date while overdue; null while not due
--   short_qty           ordered - received (not below 0) once received; null while open
--   open_qty            units still expected: ordered - received while open, 0 once received
-- product_id is canonical: silver maps the PO's WMS item code through the crosswalk; a row
-- without it is mapped here through the crosswalk's wms codes.
with purchase_orders as (
    select * from {{ ref('stg_silver__purchase_orders') }}
),

po_events as (
    select * from {{ ref('stg_silver__purchase_order_events') }}
),

wms_codes as (
    select source_code as wms_item_code, product_id
    from {{ ref('stg_silver__product_crosswalk') }}
    where source_system = 'wms'
),

receipts as (
    select
        po_number,
        count(*) as receipt_count,
        cast(sum(quantity) as bigint) as received_qty,
        min(occurred_at) as first_received_at,
        max(occurred_at) as last_received_at
    from po_events
    where event_type = 'delivered'
    group by po_number
),

feed as (
    -- the PO feed's watermark: an open line is overdue when its promised date is before it
    select max(event_date) as as_of_date from po_events
),

lines as (
    select
        po.po_number,
        po.supplier_id,
        coalesce(po.product_id, c.product_id) as product_id,
        po.wms_item_code,
        po.location_id,
        po.ordered_at,
        cast(timezone('UTC', po.ordered_at) as date) as order_date,
        po.promised_date,
        po.ordered_qty,
        coalesce(r.received_qty, 0) as received_qty,
        coalesce(r.receipt_count, 0) as receipt_count,
        coalesce(r.first_received_at, po.delivered_at) as received_at,
        coalesce(r.last_received_at, po.delivered_at) as last_received_at,
        f.as_of_date,
        po._batch_id,
        po._ingested_at
    from purchase_orders as po
    left join wms_codes as c on c.wms_item_code = po.wms_item_code
    left join receipts as r on r.po_number = po.po_number
    cross join feed as f
),

measured as (
    select
        *,
        received_at is not null as is_received,
        cast(timezone('UTC', received_at) as date) as received_date,
        date_diff('day', order_date, promised_date) as promised_lead_days,
        date_diff('day', order_date, cast(timezone('UTC', received_at) as date))
            as observed_lead_days,
        date_diff('day', promised_date, cast(timezone('UTC', received_at) as date))
            as delay_days
    from lines
)

select
    po_number,
    supplier_id,
    product_id,
    wms_item_code,
    location_id,
    ordered_at,
    order_date,
    promised_date,
    received_at,
    last_received_at,
    received_date,
    receipt_count,
    ordered_qty,
    received_qty,
    case when is_received then greatest(ordered_qty - received_qty, 0) end as short_qty,
    case when is_received then 0 else greatest(ordered_qty - received_qty, 0) end as open_qty,
    promised_lead_days,
    observed_lead_days,
    delay_days,
    case
        when is_received then greatest(delay_days, 0)
        when promised_date < as_of_date then date_diff('day', promised_date, as_of_date)
    end as late_days,
    case
        when is_received and delay_days <= 0 then 'on_time'
        when is_received then 'late'
        when promised_date < as_of_date then 'overdue'
        else 'not_due'
    end as delivery_status,
    case
        when is_received then delay_days <= 0
        when promised_date < as_of_date then false
    end as is_on_time,
    is_received,
    case when is_received then 'received' else 'open' end as po_status,
    as_of_date,
    _batch_id,
    _ingested_at
from measured
