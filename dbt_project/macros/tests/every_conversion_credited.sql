{#- Generic test: every conversion gets credit from every one of `models`. -#}
{% test every_conversion_credited(model, conversions, models) %}
with expected as (
    select c.conversion_id, m.attribution_model
    from {{ conversions }} as c
    cross join (
        select unnest([{% for m in models %}'{{ m }}'{% if not loop.last %}, {% endif %}{% endfor %}])
            as attribution_model
    ) as m
)

select e.conversion_id, e.attribution_model
from expected as e
left join (select distinct conversion_id, attribution_model from {{ model }}) as c
    using (conversion_id, attribution_model)
where c.conversion_id is null
{% endtest %}
