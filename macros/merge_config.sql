{#- The incremental settings every merged conformed model shares. The merge sees only stored rows
    whose date_column is on or after `since` (what the window can touch), and, when
    version_column is given, replaces a stored row only with a newer version. Column changes fail
    the run: they need a deliberate --full-refresh. -#}
{% macro merge_config(unique_key, date_column=none, since=none, version_column=none) -%}
    {%- set settings = {
        'materialized': 'incremental',
        'incremental_strategy': 'merge',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    } -%}
    {%- if date_column -%}
        {%- do settings.update({'incremental_predicates': [
            'DBT_INTERNAL_DEST.' ~ date_column ~ " >= cast('" ~ since ~ "' as date)"
        ]}) -%}
    {%- endif -%}
    {%- if version_column -%}
        {%- do settings.update({'merge_update_condition': strata_newer_version(version_column)}) -%}
    {%- endif -%}
    {{ config(**settings) }}
{%- endmacro %}
