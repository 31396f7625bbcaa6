-- One row per segmented person: the RFM segment a marketer targets by (scores 1-5, 0 for a
-- person who never bought) and the behaviour cluster of the customer feature mart, with the
-- cluster's name, description and size, and the person's household for household-level
-- campaigns.
with segments as (
    select * from {{ ref('stg_gold__customer_segments') }}
),

profiles as (
    select * from {{ ref('stg_gold__customer_segment_profiles') }}
),

customers as (
    select person_id, household_id from {{ ref('dim_customers') }}
)

select
    segments.person_id,
    customers.household_id,
    segments.rfm_segment,
    segments.rfm_score,
    segments.r_score,
    segments.f_score,
    segments.m_score,
    segments.recency_days,
    cast(segments.frequency as bigint) as frequency,
    segments.monetary,
    segments.cluster_id,
    segments.cluster_name,
    profiles.cluster_description,
    cast(profiles.cluster_persons as bigint) as cluster_persons,
    profiles.cluster_share,
    segments.segmented_as_of
from segments
left join profiles on segments.cluster_id = profiles.cluster_id
left join customers on segments.person_id = customers.person_id
