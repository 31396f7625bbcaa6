select
    cluster as cluster_id,
    cluster_name,
    description as cluster_description,
    persons as cluster_persons,
    share as cluster_share,
    buyer_share as cluster_buyer_share,
    avg_order_value as cluster_avg_order_value,
    top_category as cluster_top_category
from {{ source('gold', 'customer_segment_profiles') }}
