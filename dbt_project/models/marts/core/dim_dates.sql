-- One row per calendar day: the conformed date dimension every daily fact joins to.
with days as (
    select cast(range as date) as date_day
    from range(
        cast('{{ var("calendar_start") }}' as date),
        cast('{{ var("calendar_end") }}' as date) + interval 1 day,
        interval 1 day
    )
)

select
    date_day,
    cast(strftime(date_day, '%Y%m%d') as integer) as date_key,
    year(date_day) as year,
    quarter(date_day) as quarter,
    month(date_day) as month,
    strftime(date_day, '%B') as month_name,
    weekofyear(date_day) as iso_week,
    isodow(date_day) as iso_day_of_week,
    strftime(date_day, '%A') as day_name,
    isodow(date_day) in (6, 7) as is_weekend,
    date_trunc('week', date_day)::date as week_start,
    date_trunc('month', date_day)::date as month_start
from days
