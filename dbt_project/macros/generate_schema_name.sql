{#- Marts land in the main schema so analysts query them by bare name; staging and
    intermediate models keep their own schema instead of dbt's "<target>_<custom>" default. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
