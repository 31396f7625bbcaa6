{#-
    The rows of an incremental fact that are new or changed since the model last held them.

    `rows` is a CTE with the model's unique `key`, its lineage (`_batch_id`, `_ingested_at`:
    the silver batch that last wrote the row) and its `person_id`. On a full build every row
    is kept; on an incremental build only rows whose key the model does not hold, whose
    lineage differs from what it holds (a later batch rewrote the row), or whose person changed
    (identity resolution merged or split persons since): the model then delete+inserts them by
    key. Arrival order does not matter (no high-water mark), so a late batch is never skipped.
    Rows deleted upstream are not removed: `dbt build --full-refresh` rebuilds from scratch.
-#}
{% macro incremental_changes(rows, key) %}
    select {{ rows }}.*
    from {{ rows }}
    {% if is_incremental() %}
    left join {{ this }} as held on held.{{ key }} = {{ rows }}.{{ key }}
    where held.{{ key }} is null
        or held._batch_id is distinct from {{ rows }}._batch_id
        or held._ingested_at is distinct from {{ rows }}._ingested_at
        or held.person_id is distinct from {{ rows }}.person_id
    {% endif %}
{% endmacro %}
