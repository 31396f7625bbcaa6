{#- Generic test: every credited touch is a touch of the conversion's own journey, and none
    happened after the conversion. -#}
{% test no_credit_after_conversion(model, journeys) %}
select c.attribution_model, c.conversion_id, c.touch_id, j.occurred_at, j.converted_at
from {{ model }} as c
left join {{ journeys }} as j
    on j.touch_id = c.touch_id and j.conversion_id = c.conversion_id
where j.touch_id is null or j.occurred_at > j.converted_at
{% endtest %}
