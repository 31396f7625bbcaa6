-- Every system's codes of a canonical product, one row per product (codes comma-separated
-- in code order when a system has several).
select
    product_id,
    string_agg(source_code, ',' order by source_code) filter (where source_system = 'web')
        as web_variant_ids,
    string_agg(source_code, ',' order by source_code) filter (where source_system = 'pos')
        as pos_skus,
    string_agg(source_code, ',' order by source_code) filter (where source_system = 'wms')
        as wms_item_codes,
    count(*) as source_code_count
from {{ ref('stg_silver__product_crosswalk') }}
group by product_id
