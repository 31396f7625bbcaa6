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


{#-
    The SQL an incremental fact's rows were built by: its own, that of every model upstream of
    it, and of every macro any of them calls (a hash of their checksums). Rows built by other
    SQL than today's are not what a full build would hold, and nothing in their lineage says
    so: `rebuild_on_sql_change` (pre-hook) then empties the fact, so the build inserts every
    row by the new SQL, as `--full-refresh` would, without a flag to remember.
    `record_sql_state` (post-hook, in the model's transaction) records the state with its rows,
    in `lakehouse_meta.lake_file_models` beside the lake-file models' (macros/lake_files.sql),
    whose states start from this one. Not covered: project variables and the YAML config of
    upstream models.
-#}
{% macro _sql_state() -%}
    {%- set seen = [] -%}
    {%- set parts = [model.unique_id ~ '=' ~ model.checksum.checksum] -%}
    {%- set macros = model.depends_on.macros | list -%}
    {%- set frontier = model.depends_on.nodes | list -%}
    {#- breadth first, one level per pass (Jinja has no while); 50 levels bound any project -#}
    {%- for _ in range(50) if frontier -%}
        {%- set current = frontier | list -%}
        {%- do frontier.clear() -%}
        {%- for uid in current if uid in graph.nodes and uid not in seen -%}
            {%- do seen.append(uid) -%}
            {%- set node = graph.nodes[uid] -%}
            {%- do parts.append(uid ~ '=' ~ node.checksum.checksum) -%}
            {%- do macros.extend(node.depends_on.macros) -%}
            {%- do frontier.extend(node.depends_on.nodes) -%}
        {%- endfor -%}
    {%- endfor -%}
    {#- `graph` holds no macros: a macro's text is read from the one Jinja calls by its name -#}
    {%- for uid in macros | unique -%}
        {%- set called = context.get(uid.split('.')[-1]) -%}
        {%- set text = called.macro.macro_sql if called is not none and called.macro is defined else none -%}
        {%- do parts.append(uid ~ '=' ~ (local_md5(text) if text else 'unknown')) -%}
    {%- endfor -%}
    {{- return(local_md5(parts | sort | join('|'))) -}}
{%- endmacro %}


{% macro rebuild_on_sql_change() -%}
    {%- if not execute or not is_incremental() -%}{{ return('') }}{%- endif -%}
    {%- if _held_state() != _sql_state() -%}
    delete from {{ this }}
    {%- endif -%}
{%- endmacro %}


{% macro record_sql_state() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    insert or replace into lakehouse_meta.lake_file_models values (
        '{{ this.schema }}.{{ this.identifier }}', '{{ _sql_state() }}', current_timestamp)
{%- endmacro %}
