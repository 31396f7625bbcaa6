-- One row per order line sold under a promotion: a till line carrying the promotion's id, or a
-- shop (web, app) line of an order that entered the promotion's code, in a category and channel
-- the promotion covers. Codes recur (the same code in promotions months apart), so a code
-- matches the promotion whose dates contain the order's UTC date, with one day of slack either
-- side for shops in time zones behind or ahead of UTC.
with till_lines as (
    select * from {{ ref('stg_silver__pos_transaction_lines') }}
),

order_lines as (
    select * from {{ ref('stg_silver__order_lines') }}
),

orders as (
    select * from {{ ref('stg_silver__orders') }}
),

products as (
    select * from {{ ref('stg_silver__products') }}
),

promotions as (
    select * from {{ ref('stg_silver__promotions') }}
),

coverage as (
    select * from {{ ref('int_promotions__coverage') }}
),

till_promo_lines as (
    select transaction_line_id as order_line_id, promo_id
    from till_lines
    where promo_id is not null
),

shop_lines as (
    select
        l.order_line_id,
        o.channel,
        o.order_date,
        regexp_split_to_array(upper(trim(o.discount_codes)), '\s*[,;]\s*') as codes,
        p.category
    from order_lines as l
    inner join orders as o on o.order_id = l.order_id
    left join products as p on p.product_id = l.product_id
    where nullif(trim(o.discount_codes), '') is not null
),

coded as (
    select
        s.order_line_id,
        p.promo_id,
        row_number() over (
            partition by s.order_line_id
            order by abs(date_diff('day', p.start_date, s.order_date)), p.promo_id
        ) as match_rank
    from shop_lines as s
    inner join promotions as p
        on list_contains(s.codes, upper(p.promo_code))
        and s.order_date between p.start_date - 1 and p.end_date + 1
    inner join coverage as c
        on c.promo_id = p.promo_id
        and c.category = s.category
        and c.channel = s.channel
)

select order_line_id, promo_id, 'till_promo_id' as redeemed_by
from till_promo_lines
union all
select order_line_id, promo_id, 'shop_code' as redeemed_by
from coded
where match_rank = 1
