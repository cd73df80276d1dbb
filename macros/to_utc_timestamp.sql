{#- Parses landed timestamp text into a UTC timestamp without time zone. Text without an offset
    is taken as UTC (the landing contract); text with an offset is converted. Unparseable text
    becomes null so the row can be quarantined. -#}
{% macro to_utc_timestamp(expression) -%}
    {{ return(adapter.dispatch('to_utc_timestamp', 'strata')(expression)) }}
{%- endmacro %}

{% macro default__to_utc_timestamp(expression) -%}
    timezone('UTC', {{ safe_cast(expression, 'timestamptz') }})
{%- endmacro %}
