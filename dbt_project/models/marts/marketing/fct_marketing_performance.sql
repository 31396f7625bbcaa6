-- One row per campaign and day (e-mail and ad campaigns): what was sent and spent, who it
-- reached, which products those visits touched, the orders that followed in the campaign's
-- sessions, and how those orders were fulfilled.
--   e-mail: sends, deliveries, opens, clicks, unsubscribes (silver e-mail events)
--   ads:    impressions, network clicks and spend (ad spend), clicks and click cost (ad clicks)
--   reach:  persons with an e-mail open / click, ad click or campaign session that day
--   visits: web/app sessions whose campaign is this one; products viewed or carted in them;
--           orders purchased in them, their revenue, and their shipments (on time, cost)
with email_events as (
    select * from {{ ref('stg_silver__email_events') }}
),

ad_spend as (
    select * from {{ ref('stg_silver__ad_spend') }}
),

ad_clicks as (
    select * from {{ ref('stg_silver__ad_clicks') }}
),

interactions as (
    select * from {{ ref('fct_interactions') }}
),

sessions as (
    select * from {{ ref('fct_sessions') }}
),

orders as (
    select * from {{ ref('fct_orders') }}
),

shipments as (
    select * from {{ ref('fct_shipments') }}
),

email as (
    select
        campaign_id,
        event_date as activity_date,
        count(*) filter (where event_type = 'processed') as emails_sent,
        count(*) filter (where event_type = 'delivered') as emails_delivered,
        count(*) filter (where event_type = 'open') as email_opens,
        count(*) filter (where event_type = 'click') as email_clicks,
        count(*) filter (where event_type = 'unsubscribe') as email_unsubscribes
    from email_events
    group by all
),

spend as (
    select
        campaign_id,
        spend_date as activity_date,
        cast(sum(impressions) as bigint) as ad_impressions,
        cast(sum(clicks) as bigint) as ad_network_clicks,
        sum(spend) as ad_spend
    from ad_spend
    group by all
),

clicks as (
    select
        campaign_id,
        event_date as activity_date,
        count(*) as ad_clicks,
        sum(cost) as ad_click_cost
    from ad_clicks
    group by all
),

reach as (
    select
        campaign_id,
        interaction_date as activity_date,
        count(distinct person_id) as persons_reached
    from interactions
    where campaign_id is not null
        and interaction_type in ('email_open', 'email_click', 'ad_click')
        or (campaign_id is not null and session_key is not null)
    group by all
),

campaign_sessions as (
    select
        campaign_id,
        session_date as activity_date,
        count(*) as campaign_sessions,
        count(*) filter (where has_purchase) as converting_sessions
    from sessions
    where campaign_id is not null
    group by all
),

campaign_products as (
    select
        s.campaign_id,
        s.session_date as activity_date,
        count(distinct i.product_id) as products_touched
    from sessions as s
    inner join interactions as i on i.session_key = s.session_key
    where s.campaign_id is not null
        and i.interaction_type in ('product_view', 'add_to_cart')
    group by all
),

campaign_orders as (
    select distinct
        s.campaign_id,
        s.session_date as activity_date,
        i.order_id
    from sessions as s
    inner join interactions as i on i.session_key = s.session_key
    where s.campaign_id is not null
        and i.interaction_type = 'purchase'
        and i.order_id is not null
),

campaign_order_outcomes as (
    select
        co.campaign_id,
        co.activity_date,
        count(distinct co.order_id) as attributed_orders,
        sum(o.net_revenue) as attributed_revenue,
        count(sh.shipment_id) as attributed_shipments,
        count(*) filter (where sh.is_on_time) as attributed_shipments_on_time,
        sum(sh.cost) as attributed_shipping_cost
    from campaign_orders as co
    left join orders as o on o.order_id = co.order_id
    left join shipments as sh on sh.order_id = co.order_id
    group by all
),

keys as (
    select campaign_id, activity_date from email
    union
    select campaign_id, activity_date from spend
    union
    select campaign_id, activity_date from clicks
    union
    select campaign_id, activity_date from campaign_sessions
)

select
    k.campaign_id || ':' || cast(k.activity_date as varchar) as campaign_day_key,
    k.campaign_id,
    k.activity_date,
    case
        when e.campaign_id is not null or k.campaign_id like 'em-%' then 'email'
        else 'ads'
    end as marketing_channel,
    coalesce(e.emails_sent, 0) as emails_sent,
    coalesce(e.emails_delivered, 0) as emails_delivered,
    coalesce(e.email_opens, 0) as email_opens,
    coalesce(e.email_clicks, 0) as email_clicks,
    coalesce(e.email_unsubscribes, 0) as email_unsubscribes,
    coalesce(sp.ad_impressions, 0) as ad_impressions,
    coalesce(sp.ad_network_clicks, 0) as ad_network_clicks,
    coalesce(sp.ad_spend, 0) as ad_spend,
    coalesce(c.ad_clicks, 0) as ad_clicks,
    coalesce(c.ad_click_cost, 0) as ad_click_cost,
    coalesce(r.persons_reached, 0) as persons_reached,
    coalesce(s.campaign_sessions, 0) as campaign_sessions,
    coalesce(s.converting_sessions, 0) as converting_sessions,
    coalesce(p.products_touched, 0) as products_touched,
    coalesce(o.attributed_orders, 0) as attributed_orders,
    coalesce(o.attributed_revenue, 0) as attributed_revenue,
    coalesce(o.attributed_shipments, 0) as attributed_shipments,
    coalesce(o.attributed_shipments_on_time, 0) as attributed_shipments_on_time,
    coalesce(o.attributed_shipping_cost, 0) as attributed_shipping_cost,
    coalesce(sp.ad_spend, 0) / nullif(o.attributed_orders, 0) as cost_per_order,
    coalesce(o.attributed_revenue, 0) / nullif(sp.ad_spend, 0) as return_on_ad_spend
from keys as k
left join email as e using (campaign_id, activity_date)
left join spend as sp using (campaign_id, activity_date)
left join clicks as c using (campaign_id, activity_date)
left join reach as r using (campaign_id, activity_date)
left join campaign_sessions as s using (campaign_id, activity_date)
left join campaign_products as p using (campaign_id, activity_date)
left join campaign_order_outcomes as o using (campaign_id, activity_date)
