{#- A stable fingerprint of a row's payload: two deliveries with the same key and the same hash
    are exact duplicates; the same key with another hash is another version. Nulls are
    encoded apart from empty strings so they do not collide. -#}
{% macro row_hash(columns) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '<null>')") -%}
        {%- if not loop.last %}{% do parts.append("'|'") %}{% endif -%}
    {%- endfor -%}
    {{ dbt.hash(dbt.concat(parts)) }}
{%- endmacro %}

{#- A surrogate key for a composite natural key. -#}
{% macro surrogate_key(columns) -%}
    {{ row_hash(columns) }}
{%- endmacro %}
