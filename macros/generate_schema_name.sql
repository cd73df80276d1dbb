{#- Schemas are named after the layers (raw, conformed, reference, modeled), not prefixed with
    the target schema, so `modeled.fct_orders` is where a user looks in every environment. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
