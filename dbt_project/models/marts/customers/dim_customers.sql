-- One row per person: the unified, pseudonymised profile from identity resolution (keyed
-- hashes of name, address, e-mails and phones; no raw PII), the person's household, what the
-- person did across channels, and whether the person is a loyalty member (one or more sign-ups
-- in dim_loyalty_members). Anonymous activity (no resolved person) is not in this table.
with customer_profiles as (
    select * from {{ ref('stg_gold__customer_profiles') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

interactions as (
    select * from {{ ref('fct_interactions') }}
),

returns as (
    select * from {{ ref('fct_returns') }}
),

loyalty_members as (
    select * from {{ ref('dim_loyalty_members') }}
),

person_orders as (
    select
        person_id,
        count(*) as order_count,
        count(*) filter (where channel = 'web') as web_order_count,
        count(*) filter (where channel = 'app') as app_order_count,
        count(*) filter (where channel = 'store') as store_order_count,
        sum(net_revenue) filter (where not is_cancelled) as total_revenue,
        list(distinct channel order by channel) as order_channels,
        min(ordered_at) as first_order_at,
        max(ordered_at) as last_order_at
    from orders
    where person_id is not null
    group by person_id
),

person_interactions as (
    select
        person_id,
        count(*) as interaction_count,
        count(*) filter (where interaction_type = 'product_view') as product_view_count,
        count(*) filter (where interaction_type = 'add_to_cart') as add_to_cart_count,
        count(*) filter (where interaction_type = 'email_open') as email_open_count,
        count(*) filter (where interaction_type = 'email_click') as email_click_count,
        count(*) filter (where interaction_type = 'ad_click') as ad_click_count,
        count(*) filter (where interaction_type = 'store_visit') as store_visit_count,
        count(distinct session_key) as session_count,
        list(distinct channel order by channel) as interaction_channels,
        max(occurred_at) as last_interaction_at
    from interactions
    where person_id is not null
    group by person_id
),

person_returns as (
    select person_id, count(*) as return_count, sum(refund_amount) as refund_amount
    from returns
    where person_id is not null
    group by person_id
),

households as (
    select household_id, count(*) as household_size
    from customer_profiles
    group by household_id
),

person_loyalty as (
    -- a person can hold several memberships (signed up twice, with other details)
    select
        person_id,
        count(*) as loyalty_member_count,
        min(signed_up_at) as loyalty_signed_up_at,
        min(loyalty_tier) as loyalty_tier  -- the person's spend: the same on each membership
    from loyalty_members
    where person_id is not null
    group by person_id
)

select
    c.person_id,
    c.household_id,
    h.household_size,
    c.city,
    c.postcode,
    c.state,
    c.country,
    c.first_seen,
    c.last_seen,
    c.sources,
    c.device_count,
    c.record_count,
    c.name_hash,
    c.address_hash,
    c.email_hashes,
    c.phone_hashes,
    coalesce(o.order_count, 0) as order_count,
    coalesce(o.web_order_count, 0) as web_order_count,
    coalesce(o.app_order_count, 0) as app_order_count,
    coalesce(o.store_order_count, 0) as store_order_count,
    coalesce(o.total_revenue, 0) as total_revenue,
    o.total_revenue / nullif(o.order_count, 0) as avg_order_value,
    o.first_order_at,
    o.last_order_at,
    coalesce(t.interaction_count, 0) as interaction_count,
    coalesce(t.session_count, 0) as session_count,
    coalesce(t.product_view_count, 0) as product_view_count,
    coalesce(t.add_to_cart_count, 0) as add_to_cart_count,
    coalesce(t.email_open_count, 0) as email_open_count,
    coalesce(t.email_click_count, 0) as email_click_count,
    coalesce(t.ad_click_count, 0) as ad_click_count,
    coalesce(t.store_visit_count, 0) as store_visit_count,
    coalesce(o.order_channels, []) as order_channels,
    coalesce(t.interaction_channels, []) as interaction_channels,
    t.last_interaction_at,
    coalesce(r.return_count, 0) as return_count,
    coalesce(r.refund_amount, 0) as refund_amount,
    l.person_id is not null as is_loyalty_member,
    coalesce(l.loyalty_member_count, 0) as loyalty_member_count,
    l.loyalty_signed_up_at,
    l.loyalty_tier
from customer_profiles as c
left join person_orders as o on o.person_id = c.person_id
left join person_interactions as t on t.person_id = c.person_id
left join person_returns as r on r.person_id = c.person_id
left join households as h on h.household_id = c.household_id
left join person_loyalty as l on l.person_id = c.person_id
