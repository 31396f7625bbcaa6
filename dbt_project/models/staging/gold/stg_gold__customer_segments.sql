select
    person_id,
    recency_days,
    frequency,
    monetary,
    cast(r_score as integer) as r_score,
    cast(f_score as integer) as f_score,
    cast(m_score as integer) as m_score,
    rfm_score,
    rfm_segment,
    cluster as cluster_id,
    cluster_name,
    as_of as segmented_as_of
from {{ source('gold', 'customer_segments') }}
