-- One row per loyalty member, pseudonymised: keyed hashes (pseudonymise()) of the member id and
-- card number, never e-mail, phone, name, address or card in the clear. The member's sign-up
-- record (identity source `loyalty`, record id = member id) links to its person through the
-- identity map; the card links to the till transactions it was scanned on (same keyed hash).
-- The loyalty feed carries no tier: loyalty_tier is derived from the person's spend (net
-- revenue of non-cancelled orders, all channels) in the 365 days up to the latest order date:
--   gold   >= var('loyalty_gold_min_spend')   (500 unless set)
--   silver >= var('loyalty_silver_min_spend') (150 unless set)
--   bronze otherwise, also for a member not linked to a person yet
with members as (
    select * from {{ ref('stg_silver__loyalty_members') }}
),

record_persons as (
    select identity_record_hash, person_id, household_id
    from {{ ref('int_identity__record_persons') }}
    where identity_source = 'loyalty'
),

till_lines as (
    select * from {{ ref('stg_silver__pos_transaction_lines') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

as_of as (
    select max(order_date) as as_of_date from orders
),

card_use as (
    select
        loyalty_card_hash,
        count(distinct transaction_id) as card_transaction_count,
        count(distinct location_id) as card_store_count,
        sum(quantity * unit_price - discount_amount) as card_spend,
        min(occurred_at) as first_card_use_at,
        max(occurred_at) as last_card_use_at
    from till_lines
    where loyalty_card_hash is not null
    group by loyalty_card_hash
),

person_orders as (
    select
        o.person_id,
        count(*) filter (where o.channel in ('web', 'app')) as online_order_count,
        count(*) filter (where o.channel = 'store') as store_order_count,
        coalesce(sum(o.net_revenue) filter (where not o.is_cancelled), 0) as lifetime_spend,
        coalesce(sum(o.net_revenue) filter (
            where not o.is_cancelled and o.order_date > a.as_of_date - 365
        ), 0) as spend_last_365d,
        max(o.ordered_at) as last_order_at
    from orders as o
    cross join as_of as a
    where o.person_id is not null
    group by o.person_id
),

linked as (
    select
        m.identity_record_hash as loyalty_member_key,
        m.loyalty_card_hash,
        p.person_id,
        p.household_id,
        m.signup_channel,
        m.signup_location_id,
        m.signed_up_at,
        m.signup_date,
        m.has_email,
        m.has_phone,
        m.has_postal_address,
        coalesce(c.card_transaction_count, 0) as card_transaction_count,
        coalesce(c.card_store_count, 0) as card_store_count,
        coalesce(c.card_spend, 0) as card_spend,
        c.first_card_use_at,
        c.last_card_use_at
    from members as m
    left join record_persons as p on p.identity_record_hash = m.identity_record_hash
    left join card_use as c on c.loyalty_card_hash = m.loyalty_card_hash
)

select
    l.loyalty_member_key,
    l.loyalty_card_hash,
    l.person_id,
    l.household_id,
    l.person_id is not null as is_linked,
    case when l.person_id is not null
        then count(*) over (partition by l.person_id) end as person_member_count,
    l.signup_channel,
    l.signup_location_id,
    l.signed_up_at,
    l.signup_date,
    date_diff('day', l.signup_date, a.as_of_date) as tenure_days,
    l.has_email,
    l.has_phone,
    l.has_postal_address,
    l.card_transaction_count,
    l.card_store_count,
    l.card_spend,
    l.first_card_use_at,
    l.last_card_use_at,
    coalesce(o.online_order_count, 0) as online_order_count,
    coalesce(o.store_order_count, 0) as store_order_count,
    coalesce(o.online_order_count, 0) > 0 and coalesce(o.store_order_count, 0) > 0
        as shops_online_and_in_store,
    coalesce(o.lifetime_spend, 0) as lifetime_spend,
    coalesce(o.spend_last_365d, 0) as spend_last_365d,
    o.last_order_at,
    case
        when coalesce(o.spend_last_365d, 0) >= {{ var('loyalty_gold_min_spend', 500) }} then 'gold'
        when coalesce(o.spend_last_365d, 0) >= {{ var('loyalty_silver_min_spend', 150) }}
            then 'silver'
        else 'bronze'
    end as loyalty_tier
from linked as l
cross join as_of as a
left join person_orders as o on o.person_id = l.person_id
