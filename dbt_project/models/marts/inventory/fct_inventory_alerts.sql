-- Phantom (negative) stock alerts: one row per episode of a product at a location whose on
-- hand went below zero before the watermark, open while it is still negative, closed by the
-- event that restored it. Ages count to the warehouse's as-of time: the latest ledger event
-- folded into the current positions.
with

alerts as (
    select * from {{ ref('stg_gold__inventory_alerts') }}
),

positions as (
    select * from {{ ref('stg_gold__inventory_positions') }}
),

as_of as (
    select max(last_event_time) as as_of from positions
),

final as (
    select
        alerts.product_id || '@' || alerts.location_id || '@'
            || strftime(timezone('UTC', alerts.opened_at), '%Y-%m-%dT%H:%M:%S.%fZ') as alert_key,
        alerts.product_id,
        alerts.location_id,
        case when alerts.closed_at is null then 'open' else 'closed' end as status,
        alerts.opened_at,
        alerts.closed_at,
        alerts.trigger_kind as cause_kind,
        alerts.trigger_source as cause_source,
        alerts.trigger_event as cause_event,
        -- the episode's events run in event time and end with the one that restored stock
        case when alerts.closed_at is not null then alerts.episode_events[-1] end
            as resolved_by_event,
        alerts.min_on_hand,
        -alerts.min_on_hand as shortfall_units,
        len(alerts.episode_events) as episode_event_count,
        alerts.episode_events,
        alerts.last_count_event,
        as_of.as_of,
        {{ days_between('alerts.opened_at', 'as_of.as_of') }} as age_days,
        {{ days_between('alerts.opened_at', 'coalesce(alerts.closed_at, as_of.as_of)') }}
            as negative_days
    from alerts
    cross join as_of
)

select * from final
