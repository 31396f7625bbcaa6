{#- Whose journey a touch or conversion belongs to: the person (default) or, with the dbt var
    attribution_journey_by: household, the household (a purchase after a partner's ad click
    is then in the same journey). -#}
{% macro journey_owner() -%}
{%- set by = var('attribution_journey_by', 'person') -%}
{%- if by == 'household' -%} household_id
{%- elif by == 'person' -%} person_id
{%- else -%} {{ exceptions.raise_compiler_error("attribution_journey_by must be person or household, got " ~ by) }}
{%- endif -%}
{%- endmacro %}
