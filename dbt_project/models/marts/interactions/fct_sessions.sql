-- One row per web or app session: its visitor, person, timing, funnel and campaign.
-- A session's channel and id are those of its own clickstream events: an ad click joined to the
-- session carries channel `ads`, and `any_value` would pick either, run to run.
-- First values are ordered by time, then by interaction id: ties never pick at random.
select
    session_key,
    min(channel) filter (where interaction_source = 'clickstream') as channel,
    min(session_id) filter (where interaction_source = 'clickstream') as session_id,
    arg_min(person_id, (occurred_at, interaction_id)) as person_id,
    arg_min(identity_record_hash, (occurred_at, interaction_id)) as identity_record_hash,
    min(occurred_at) as started_at,
    max(occurred_at) as ended_at,
    date_diff('second', min(occurred_at), max(occurred_at)) as duration_seconds,
    cast(min(occurred_at) as date) as session_date,
    count(*) filter (where interaction_source = 'clickstream') as event_count,
    count(*) filter (where interaction_type = 'page_view') as page_views,
    count(*) filter (where interaction_type = 'product_view') as product_views,
    count(distinct product_id) as distinct_products,
    count(*) filter (where interaction_type = 'add_to_cart') as add_to_carts,
    count(*) filter (where interaction_type = 'search') as searches,
    bool_or(interaction_type = 'purchase') as has_purchase,
    min(order_id) filter (where interaction_type = 'purchase') as order_id,
    arg_min(campaign_id, (occurred_at, interaction_id)) filter (where campaign_id is not null)
        as campaign_id,
    arg_min(page, (occurred_at, interaction_id)) filter (where interaction_source = 'clickstream')
        as landing_page
from {{ ref('fct_interactions') }}
where session_key is not null
group by session_key
