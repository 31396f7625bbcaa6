{#-
    How fresh each mart is: `lakehouse_meta.mart_freshness`, one row per mart, kept by an
    on-run-end hook (dbt_project.yml) for every mart the invocation built.

    A mart's inputs are the lake tables (dbt sources) upstream of it; the plugin records in
    `lakehouse_meta.warehouse_inputs` the Delta version it read of each and when that version
    was committed. `inputs_committed_at` is the newest of those commits (the latest data the
    mart can contain), `stalest_input_committed_at` the oldest (the input holding it back).
    Out of the analysts' `main` schema, beside the inputs it is made from.
-#}
{% macro upstream_sources(unique_id) %}
    {%- set todo = [unique_id] -%}
    {%- set seen = [unique_id] -%}
    {%- set found = [] -%}
    {%- for uid in todo -%}  {#- todo grows while it is walked: breadth-first -#}
        {%- set node = graph.nodes.get(uid) -%}
        {%- for dep in (node.depends_on.nodes if node else []) if dep not in seen -%}
            {%- do seen.append(dep) -%}
            {%- if dep.startswith('source.') -%}
                {%- set source = graph.sources[dep] -%}
                {#- a `changes_of` source reads the files of its layer's table -#}
                {%- set layer = source.meta.get('changes_of') or source.source_name -%}
                {%- if layer ~ '/' ~ source.name not in found -%}
                    {%- do found.append(layer ~ '/' ~ source.name) -%}
                {%- endif -%}
            {%- else -%}
                {%- do todo.append(dep) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{ return(found | sort) }}
{% endmacro %}


{% macro record_mart_freshness(results) %}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set built = [] -%}
    {%- for r in results
        if r.node.resource_type == 'model' and r.status == 'success'
        and r.node.fqn[1] == 'marts' -%}
        {%- set done = r.timing | selectattr('name', 'equalto', 'execute') | list -%}
        {%- do built.append((r.node, done[0].completed_at if done else none)) -%}
    {%- endfor -%}
    {%- if not built -%}{{ return('') }}{%- endif -%}
    create schema if not exists lakehouse_meta;
    create table if not exists lakehouse_meta.mart_freshness (
        mart varchar primary key,
        inputs varchar[],
        inputs_committed_at timestamp with time zone,
        stalest_input_committed_at timestamp with time zone,
        built_at timestamp with time zone,
        invocation_id varchar
    );
    comment on table lakehouse_meta.mart_freshness is 'How fresh each mart is: one row per mart, from the lake versions its last build read';
    comment on column lakehouse_meta.mart_freshness.mart is 'Mart (table in main)';
    comment on column lakehouse_meta.mart_freshness.inputs is 'Lake tables upstream of the mart (layer/table)';
    comment on column lakehouse_meta.mart_freshness.inputs_committed_at is 'Newest commit among the input versions read: the latest data the mart can hold';
    comment on column lakehouse_meta.mart_freshness.stalest_input_committed_at is 'Oldest commit among the input versions read: the input holding the mart back';
    comment on column lakehouse_meta.mart_freshness.built_at is 'When dbt last built the mart';
    comment on column lakehouse_meta.mart_freshness.invocation_id is 'dbt invocation that built it';
    {% for node, completed_at in built %}
    {%- set inputs = upstream_sources(node.unique_id) %}
    insert or replace into lakehouse_meta.mart_freshness
    select
        '{{ node.name }}',
        [{% for i in inputs %}'{{ i }}'{% if not loop.last %}, {% endif %}{% endfor %}]::varchar[],
        {% if inputs -%}
        (select max(committed_at) from lakehouse_meta.warehouse_inputs
         where layer || '/' || table_name in ({% for i in inputs %}'{{ i }}'{% if not loop.last %}, {% endif %}{% endfor %})),
        (select min(committed_at) from lakehouse_meta.warehouse_inputs
         where layer || '/' || table_name in ({% for i in inputs %}'{{ i }}'{% if not loop.last %}, {% endif %}{% endfor %})),
        {%- else -%}
        null, null,
        {%- endif %}
        {% if completed_at %}'{{ completed_at.isoformat() }}+00:00'::timestamptz{% else %}now(){% endif %},
        '{{ invocation_id }}';
    {% endfor %}
{% endmacro %}
