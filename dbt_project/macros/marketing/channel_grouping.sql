{#- A marketing channel from a visit's campaign tags and referrer, after GA4's default channel
    groups: paid media by medium (cpc, ppc, paid*, display, cpm), split by the source's kind;
    e-mail by medium or source; then organic search, organic social, referral by the referrer's
    host; nothing at all is direct. `network` is the ad network's own name for a click id that
    matched an ad click (search, social, display), which wins over tags. -#}
{% macro search_hosts() -%}
'(^|\.)(google|bing|yahoo|duckduckgo|baidu|yandex|ecosia|naver|ask)\.'
{%- endmacro %}
{% macro social_hosts() -%}
'(^|\.)(facebook|instagram|tiktok|twitter|x|t|linkedin|lnkd|pinterest|snapchat|reddit|youtube|threads)\.'
{%- endmacro %}

{% macro channel_grouping(medium, source, referrer, network) -%}
case
    when lower({{ network }}) like '%search%' then 'paid_search'
    when lower({{ network }}) like '%social%' then 'paid_social'
    when lower({{ network }}) like '%display%' then 'display'
    when {{ network }} is not null then 'paid_other'
    when regexp_matches(lower({{ medium }}), '^(display|banner|cpm|interstitial|expandable)$')
        then 'display'
    when regexp_matches(lower({{ medium }}), '^(.*cp.*|ppc|retargeting|paid.*)$') then
        case
            when regexp_matches(lower({{ source }}), '^(gdn|dv360|criteo|taboola|outbrain)$')
                then 'display'
            when regexp_matches(lower({{ source }}) || '.', {{ search_hosts() }}) then 'paid_search'
            when regexp_matches(lower({{ source }}) || '.', {{ social_hosts() }}) then 'paid_social'
            else 'paid_other'
        end
    when regexp_matches(lower({{ medium }}), '^(e[-_ ]?mail|newsletter)$')
        or regexp_matches(lower({{ source }}), '^(e[-_ ]?mail|newsletter)$') then 'email'
    when regexp_matches(lower({{ medium }}), '^(social|social[-_ ]network|sm)$') then 'organic_social'
    when regexp_matches(lower(regexp_extract({{ referrer }}, '^[a-z]+://([^/:]+)', 1)),
                        {{ search_hosts() }}) then 'organic_search'
    when regexp_matches(lower(regexp_extract({{ referrer }}, '^[a-z]+://([^/:]+)', 1)),
                        {{ social_hosts() }}) then 'organic_social'
    when nullif({{ referrer }}, '') is not null then 'referral'
    else 'direct'
end
{%- endmacro %}
