{#-
    The rows of an incremental fact that are new or changed since the model last held them.

    `rows` is a CTE with the model's unique `key`, its lineage (`_batch_id`, `_ingested_at`:
    the silver batch that last wrote the row) and its `person_id`. On a full build every row
    is kept; on an incremental build only rows whose key the model does not hold, whose
    lineage differs from what it holds (a later batch rewrote the row), or whose person changed
    (identity resolution merged or split persons since): the model then delete+inserts them by
    key. Arrival order does not matter (no high-water mark), so a late batch is never skipped.
    Rows gone upstream are removed by `delete_vanished`, the model's post-hook.
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

{#-
    Post-hook of an incremental fact: delete the rows whose key its upstream no longer holds
    (an order withdrawn from silver, a row erased), so an incremental build holds exactly what a
    full build would, without waiting for `--full-refresh`. `upstream` is the relation every
    row of the model comes from, one row per key (no filter between them). Analysts never see
    the rows between the insert and this delete: they read the build only once it is audited
    and published (write-audit-publish).
-#}
{% macro delete_vanished(key, upstream) %}
    {% if is_incremental() %}
    delete from {{ this }} as held
    where not exists (
        select 1 from {{ upstream }} as kept where kept.{{ key }} = held.{{ key }}
    )
    {% endif %}
{% endmacro %}
