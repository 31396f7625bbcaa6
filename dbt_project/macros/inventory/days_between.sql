{#- Elapsed days from one timestamp to another, as a decimal (2 places); null if either is
    null. Timestamps with time zone compare as instants, whatever the session's TimeZone. -#}
{% macro days_between(start, finish) -%}
    round((epoch({{ finish }}) - epoch({{ start }})) / 86400.0, 2)
{%- endmacro %}
