{#- Generic test: the credits of each conversion sum to 1 under each attribution model. -#}
{% test credits_sum_to_one(model, tolerance=0.000001) %}
select attribution_model, conversion_id, sum(credit) as total_credit
from {{ model }}
group by attribution_model, conversion_id
having abs(sum(credit) - 1) > {{ tolerance }}
{% endtest %}
