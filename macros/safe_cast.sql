{#- A cast that yields null instead of failing, so conformed can quarantine unparseable values
    with a reason instead of aborting the load. -#}
{% macro safe_cast(expression, data_type) -%}
    {{ return(adapter.dispatch('safe_cast', 'strata')(expression, data_type)) }}
{%- endmacro %}

{% macro default__safe_cast(expression, data_type) -%}
    try_cast({{ expression }} as {{ data_type }})
{%- endmacro %}

{% macro bigquery__safe_cast(expression, data_type) -%}
    safe_cast({{ expression }} as {{ data_type }})
{%- endmacro %}
