-- Stock discrepancies between systems: one row per thing two systems disagree about (a
-- shipment without a WMS pick, a delivery without a receipt, a count below the ledger, an
-- unmapped product code, ...), with its likely cause and how old it is at the warehouse's
-- as-of time (the latest ledger event folded into the current positions).
with

discrepancies as (
    select * from {{ ref('stg_gold__inventory_discrepancies') }}
),

positions as (
    select * from {{ ref('stg_gold__inventory_positions') }}
),

as_of as (
    select max(last_event_time) as as_of from positions
),

-- the gold table has no key: rows alike in systems, reference, product and location (several
-- quarantined rows of one file, say) are told apart by their order
numbered as (
    select
        *,
        row_number() over (
            partition by systems, reference, product_id, location_id
            order by discrepant_since, units, cause, detail
        ) as ordinal
    from discrepancies
),

final as (
    select
        md5(concat_ws('|', systems, coalesce(reference, ''), coalesce(product_id, ''),
                      coalesce(location_id, ''), cast(ordinal as varchar))) as discrepancy_key,
        numbered.systems,
        numbered.cause,
        numbered.detail,
        numbered.reference,
        numbered.product_id,
        numbered.location_id,
        numbered.units,
        abs(numbered.units) as abs_units,
        numbered.discrepant_since,
        as_of.as_of,
        -- a carrier scan can be newer than the last ledger event: never a negative age
        case
            when numbered.discrepant_since > as_of.as_of then 0.0
            else {{ days_between('numbered.discrepant_since', 'as_of.as_of') }}
        end as age_days
    from numbered
    cross join as_of
)

select * from final
