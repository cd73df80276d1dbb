{#- The delivered values of a row as one JSON text, kept with quarantined rows so a reviewer sees
    exactly what arrived, whatever the conformed types made of it. -#}
{% macro delivered_record(columns) -%}
    {{ return(adapter.dispatch('delivered_record', 'strata')(columns)) }}
{%- endmacro %}

{% macro default__delivered_record(columns) -%}
    cast(json_object(
        {%- for column in columns %}
        '{{ column }}', {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    ) as {{ dbt.type_string() }})
{%- endmacro %}
