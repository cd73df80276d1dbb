{#- Money lands as integer cents; every conversion to currency units goes through here. -#}
{% macro cents_to_currency(column_name, scale=2) -%}
    {{ return(adapter.dispatch('cents_to_currency', 'strata')(column_name, scale)) }}
{%- endmacro %}

{% macro default__cents_to_currency(column_name, scale) -%}
    cast(({{ column_name }} / 100.0) as numeric(16, {{ scale }}))
{%- endmacro %}

{% macro postgres__cents_to_currency(column_name, scale) -%}
    round(({{ column_name }} / 100.0)::numeric, {{ scale }})
{%- endmacro %}
