{#- The incremental settings every merged model shares. The merge sees only stored rows whose
    date_column is on or after `since` (what the window can touch) or that satisfy `also_match`;
    when version_column is given it replaces a stored row only with a newer version; when
    delete_when is given, incoming rows satisfying it delete their stored match and are never
    inserted (a quarantined row that now passes). Column changes fail the run: they need a
    deliberate --full-refresh. -#}
{% macro merge_config(unique_key, date_column=none, since=none, version_column=none, delete_when=none, also_match=none) -%}
    {%- set settings = {
        'materialized': 'incremental',
        'incremental_strategy': 'merge',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    } -%}
    {%- if date_column -%}
        {%- set predicate = 'DBT_INTERNAL_DEST.' ~ date_column ~ " >= cast('" ~ since ~ "' as date)" -%}
        {%- if also_match -%}
            {%- set predicate = '(' ~ predicate ~ ' or ' ~ also_match ~ ')' -%}
        {%- endif -%}
        {%- do settings.update({'incremental_predicates': [predicate]}) -%}
    {%- endif -%}
    {%- set update_condition = strata_newer_version(version_column) if version_column else none -%}
    {%- if delete_when -%}
        {%- set update = {'action': 'update', 'mode': 'by_name'} -%}
        {%- if update_condition -%}
            {%- do update.update({'condition': update_condition}) -%}
        {%- endif -%}
        {%- do settings.update({'merge_clauses': {
            'when_matched': [{'condition': delete_when, 'action': 'delete'}, update],
            'when_not_matched': [{'condition': 'not (' ~ delete_when ~ ')', 'action': 'insert', 'mode': 'by_name'}],
        }}) -%}
    {%- elif update_condition -%}
        {%- do settings.update({'merge_update_condition': update_condition}) -%}
    {%- endif -%}
    {{ config(**settings) }}
{%- endmacro %}
