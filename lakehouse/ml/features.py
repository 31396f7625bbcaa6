"""The feature definitions: one SQL per feature set over a spine of (entity, cutoff) rows.

Every feature of a spine row is computed only from events with ``event_time < cutoff`` (and
an order cancelled at or after the cutoff still counts as placed), so the same definition serves
the published marts (the spine is every entity at one ``as_of``) and point-in-time training sets
(the spine is the labels' entities at their ``label_time``): no train/serve skew.

Windows (``_7d``, ``_28d``, ``_30d``, ``_90d``) are ``[cutoff - n days, cutoff)``. Counts are 0
when nothing happened; ratios and "days since" are null when undefined (no orders, no stock
velocity, ...). Money is summed exactly (DECIMAL) so rebuilding a frame gives identical values.

Knowledge time: every relation row has a knowledge interval ``[known_at, superseded_at)``
(null: unbounded) and is used only when the cutoff falls in it (:func:`known`). In event-time
mode both are null (every row as the lake knows it now); in knowledge mode (the default of
``lakehouse.ml.training_set``) events count only once delivered, and orders and catalog
products in the version known at the cutoff. Still read as of the table version, not as of the
cutoff: the promotion calendar (known ahead), the identity map (which person a record belongs
to) and the daily stock closes. Stock comes from the last daily close certainly before the
cutoff in any time zone (close of day D <= D + 38 h UTC).

The same SQL on polars frames (tests, notebooks): ``frames.py``; what each column means:
``feature_docs.py``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import duckdb
import polars as pl

TOP_CATEGORIES = 12
CUTOFF = "cutoff"  # spine column: features use only events strictly before it


def known(alias: str, cutoff: str = "s.cutoff") -> str:
    """SQL: row ``alias`` was known at ``cutoff`` (delivered by then, not yet superseded)."""
    return (f"({alias}.known_at is null or {alias}.known_at <= {cutoff}) and "
            f"({alias}.superseded_at is null or {cutoff} < {alias}.superseded_at)")


def spine_joins(key: str, **aliases: str) -> str:
    """SQL: ``left join`` each per-(``key``, cutoff) relation (name=alias) to its spine row, so
    every spine row stays, with nulls where a relation has nothing for it."""
    return "\n".join(f"left join {name} {alias} on {alias}.{key} = s.{key} "
                     f"and {alias}.cutoff = s.cutoff" for name, alias in aliases.items())


def category_column(category: str) -> str:
    """``"Home & Garden"`` -> ``affinity_home_garden``."""
    return "affinity_" + (re.sub(r"[^0-9a-z]+", "_", category.lower()).strip("_") or "blank")


def top_categories(con: duckdb.DuckDBPyConnection, n: int = TOP_CATEGORIES,
                   at: str | None = None) -> list[str]:
    """The catalog's ``n`` largest categories (by product count, then name), sorted by name:
    reference data, so the affinity columns never depend on events. ``at``: a SQL instant,
    the catalog as known then (else every product row read)."""
    when = f" and {known('p', at)}" if at else ""
    rows = con.sql(f"select category from products p where category is not null{when} "
                   f"group by 1 order by count(*) desc, category limit {int(n)}").fetchall()
    return sorted(r[0] for r in rows)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def customer_sql(categories: Sequence[str], cutoff_name: str = "as_of") -> str:
    """Features per ``spine(person_id, cutoff)`` row over the customer relations."""
    cats = list(categories)
    spend = ",\n".join(
        f"        sum(amount) filter (where category = {_lit(c)}) as s{i}"
        for i, c in enumerate(cats))
    listed = ", ".join(_lit(c) for c in cats) or "null"
    affinity = ",\n".join(
        f"    coalesce(a.s{i}, 0)::double / nullif(a.spend, 0) as {category_column(c)}"
        for i, c in enumerate(cats))
    return f"""
with lines as materialized (
    select s.person_id, s.cutoff, l.order_key, l.channel, l.event_time, l.category,
           l.quantity, l.amount
    from spine s
    join purchase_lines l
      on l.person_id = s.person_id and l.event_time < s.cutoff
     and (l.cancelled_at is null or l.cancelled_at >= s.cutoff) and {known("l")}
),
orders_ as (
    select person_id, cutoff, order_key, min(channel) as channel,
           min(event_time) as event_time, sum(amount) as amount, sum(quantity) as units
    from lines group by person_id, cutoff, order_key
),
purchases as (
    select person_id, cutoff, count(*) as frequency, sum(amount) as monetary,
        sum(units) as units, max(event_time) as last_at, min(event_time) as first_at,
        count(*) filter (where event_time >= cutoff - interval 30 day) as orders_30d,
        count(*) filter (where event_time >= cutoff - interval 90 day) as orders_90d,
        sum(amount) filter (where event_time >= cutoff - interval 90 day) as monetary_90d,
        count(*) filter (where channel = 'web') as n_web,
        count(*) filter (where channel = 'app') as n_app,
        count(*) filter (where channel = 'store') as n_store
    from orders_ group by person_id, cutoff
),
spend as (
    select person_id, cutoff, sum(amount) as spend,
{spend + "," if cats else ""}
        sum(amount) filter (where category is null or category not in ({listed})) as s_other
    from lines group by person_id, cutoff
),
returned as (
    select s.person_id, s.cutoff, count(*) as returns, sum(r.quantity) as units,
           sum(r.refund) as refund
    from spine s
    join customer_returns r on r.person_id = s.person_id and r.event_time < s.cutoff
     and {known("r")}
    group by s.person_id, s.cutoff
),
activity as (
    select s.person_id, s.cutoff, max(i.event_time) as last_at,
        count(*) filter (where i.event_time >= s.cutoff - interval 7 day) as events_7d,
        count(*) filter (where i.event_time >= s.cutoff - interval 30 day) as events_30d,
        count(distinct i.session_id) filter (where i.event_time >= s.cutoff - interval 7 day)
            as sessions_7d,
        count(distinct i.session_id) filter (where i.event_time >= s.cutoff - interval 30 day)
            as sessions_30d
    from spine s
    join interactions i on i.person_id = s.person_id and i.event_time < s.cutoff
     and {known("i")}
    group by s.person_id, s.cutoff
),
email as (
    select s.person_id, s.cutoff,
        count(distinct e.campaign_id) filter (where e.event_type = 'delivered') as delivered,
        count(distinct e.campaign_id) filter (where e.event_type = 'open') as opened,
        count(distinct e.campaign_id) filter (where e.event_type = 'click') as clicked,
        count(distinct e.campaign_id) filter (where e.event_type = 'open'
            and e.event_time >= s.cutoff - interval 30 day) as opened_30d,
        count(distinct e.campaign_id) filter (where e.event_type = 'click'
            and e.event_time >= s.cutoff - interval 30 day) as clicked_30d,
        bool_or(e.event_type = 'unsubscribe') as unsubscribed
    from spine s
    join email_activity e on e.person_id = s.person_id and e.event_time < s.cutoff
     and {known("e")}
    group by s.person_id, s.cutoff
)
select
    s.person_id,
    s.cutoff as {cutoff_name},
    (epoch(s.cutoff) - epoch(p.last_at)) / 86400.0 as recency_days,
    (epoch(s.cutoff) - epoch(p.first_at)) / 86400.0 as tenure_days,
    coalesce(p.frequency, 0) as frequency,
    coalesce(p.orders_30d, 0) as orders_30d,
    coalesce(p.orders_90d, 0) as orders_90d,
    coalesce(p.monetary, 0)::double as monetary,
    coalesce(p.monetary_90d, 0)::double as monetary_90d,
    p.monetary::double / p.frequency as avg_order_value,
    p.n_web::double / p.frequency as share_web,
    p.n_app::double / p.frequency as share_app,
    p.n_store::double / p.frequency as share_store,
{affinity + "," if cats else ""}
    coalesce(a.s_other, 0)::double / nullif(a.spend, 0) as affinity_other,
    coalesce(r.returns, 0) as returns,
    coalesce(r.units, 0) as units_returned,
    coalesce(r.refund, 0)::double as refund_total,
    coalesce(r.units, 0)::double / nullif(p.units, 0) as return_rate,
    coalesce(v.events_7d, 0) as events_7d,
    coalesce(v.events_30d, 0) as events_30d,
    coalesce(v.sessions_7d, 0) as sessions_7d,
    coalesce(v.sessions_30d, 0) as sessions_30d,
    (epoch(s.cutoff) - epoch(v.last_at)) / 86400.0 as days_since_last_visit,
    coalesce(e.delivered, 0) as emails_delivered,
    coalesce(e.opened, 0) as emails_opened,
    coalesce(e.clicked, 0) as emails_clicked,
    coalesce(e.opened_30d, 0) as emails_opened_30d,
    coalesce(e.clicked_30d, 0) as emails_clicked_30d,
    case when e.delivered > 0 then least(1.0, e.opened / e.delivered) end as email_open_rate,
    case when e.delivered > 0 then least(1.0, e.clicked / e.delivered) end
        as email_click_rate,
    coalesce(e.unsubscribed, false) as email_unsubscribed
from spine s
{spine_joins("person_id", purchases="p", spend="a", returned="r", activity="v", email="e")}
order by s.person_id, s.cutoff
"""


def product_sql(cutoff_name: str = "as_of") -> str:
    """Features per ``spine(product_id, cutoff)`` row over the product relations."""
    return f"""
with sold as (
    select s.product_id, s.cutoff, sum(x.quantity) as units,
        sum(x.quantity) filter (where x.event_time >= s.cutoff - interval 7 day) as units_7d,
        sum(x.quantity) filter (where x.event_time >= s.cutoff - interval 28 day) as units_28d,
        sum(x.amount) filter (where x.event_time >= s.cutoff - interval 28 day) as revenue_28d,
        sum(x.list_amount) filter (where x.event_time >= s.cutoff - interval 28 day)
            as list_28d,
        max(x.event_time) as last_at
    from spine s
    join sales x
      on x.product_id = s.product_id and x.event_time < s.cutoff
     and (x.cancelled_at is null or x.cancelled_at >= s.cutoff) and {known("x")}
    group by s.product_id, s.cutoff
),
returned as (
    select s.product_id, s.cutoff, sum(r.quantity) as units,
        sum(r.quantity) filter (where r.event_time >= s.cutoff - interval 28 day) as units_28d
    from spine s
    join product_returns r on r.product_id = s.product_id and r.event_time < s.cutoff
     and {known("r")}
    group by s.product_id, s.cutoff
),
reviewed as (
    select s.product_id, s.cutoff, count(*) as n, sum(r.rating) as rating_sum,
        count(*) filter (where r.event_time >= s.cutoff - interval 28 day) as n_28d
    from spine s
    join product_reviews r on r.product_id = s.product_id and r.event_time < s.cutoff
     and {known("r")}
    group by s.product_id, s.cutoff
),
closes as (
    select product_id, date, on_hand, available,
           timezone('UTC', date::timestamp + interval 38 hour) as closed_by
    from stock_daily
),
stock as (
    select s.product_id, s.cutoff, d.date, d.on_hand, d.available
    from spine s
    asof left join closes d on d.product_id = s.product_id and s.cutoff >= d.closed_by
),
promo as (
    select s.product_id, s.cutoff, max(m.discount_pct) as discount_pct
    from spine s
    join catalog c on c.product_id = s.product_id and {known("c")}
    join promos m
      on (m.category = c.category or m.category is null)
     and (s.cutoff - interval 1 microsecond)::date between m.start_date and m.end_date
    group by s.product_id, s.cutoff
)
select
    s.product_id,
    s.cutoff as {cutoff_name},
    c.category,
    c.price,
    coalesce(x.units_7d, 0) as units_7d,
    coalesce(x.units_28d, 0) as units_28d,
    coalesce(x.units_7d, 0) / 7.0 as velocity_7d,
    coalesce(x.units_28d, 0) / 28.0 as velocity_28d,
    coalesce(x.revenue_28d, 0)::double as revenue_28d,
    x.revenue_28d::double / nullif(x.units_28d, 0) as avg_selling_price_28d,
    1.0 - x.revenue_28d::double / nullif(x.list_28d, 0)::double as realised_discount_28d,
    (epoch(s.cutoff) - epoch(x.last_at)) / 86400.0 as days_since_last_sale,
    st.date as stock_date,
    st.on_hand as stock_on_hand,
    st.available as stock_available,
    case when coalesce(x.units_28d, 0) > 0
         then st.available / (x.units_28d / 28.0) end as days_of_cover,
    coalesce(x.units, 0) as units_sold,
    coalesce(r.units, 0) as units_returned,
    coalesce(r.units_28d, 0) as units_returned_28d,
    coalesce(r.units, 0)::double / nullif(x.units, 0) as return_rate,
    coalesce(v.n, 0) as review_count,
    coalesce(v.n_28d, 0) as review_count_28d,
    v.rating_sum::double / nullif(v.n, 0) as mean_rating,
    m.discount_pct is not null as promo_active,
    coalesce(m.discount_pct, 0.0) as promo_discount_pct
from spine s
left join catalog c on c.product_id = s.product_id and {known("c")}
{spine_joins("product_id", sold="x", returned="r", reviewed="v", stock="st", promo="m")}
order by s.product_id, s.cutoff
"""


def run(con: duckdb.DuckDBPyConnection, sql: str) -> pl.DataFrame:
    """Run a feature SQL; DuckDB's 128-bit integer sums come back as Int64 (Delta has no
    128-bit integers)."""
    frame = con.sql(sql).pl()
    ints = [c for c, t in frame.schema.items()
            if t == pl.Int128 or (isinstance(t, pl.Decimal) and t.scale == 0)]
    return frame.with_columns(pl.col(ints).cast(pl.Int64))
