{#- The incremental settings every merged model shares. The merge sees only stored rows whose
    date_column is on or after `since` (a date or a timestamp: what the window can touch) or that
    satisfy `also_match`; when version_column is given it replaces a stored row only with a newer
    version; when delete_when is given, incoming rows satisfying it delete their stored match and
    are never inserted (a quarantined row that now passes); stored rows that satisfy
    delete_unmatched_when and have no incoming match are deleted (what a rebuild no longer
    produces, such as two sessions a late event joined into one). Column changes fail the run:
    they need a deliberate --full-refresh. -#}
{% macro merge_config(
    unique_key, date_column=none, since=none, version_column=none,
    delete_when=none, also_match=none, delete_unmatched_when=none
) -%}
    {%- set settings = {
        'materialized': 'incremental',
        'incremental_strategy': 'merge',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    } -%}
    {%- if date_column -%}
        {%- set since_type = 'date' if (since | string | length) == 10 else 'timestamp' -%}
        {%- set predicate = 'DBT_INTERNAL_DEST.' ~ date_column ~ " >= cast('" ~ since ~ "' as " ~ since_type ~ ")" -%}
        {%- if also_match -%}
            {%- set predicate = '(' ~ predicate ~ ' or ' ~ also_match ~ ')' -%}
        {%- endif -%}
        {%- do settings.update({'incremental_predicates': [predicate]}) -%}
        {#- Tests of a windowed run read what the merge could touch (macros/test_scope.sql). -#}
        {%- do settings.update({'meta': {'test_scope': {'column': date_column, 'since': since}}}) -%}
    {%- endif -%}
    {%- set update_condition = strata_newer_version(version_column) if version_column else none -%}
    {%- if delete_when or delete_unmatched_when -%}
        {%- set update = {'action': 'update', 'mode': 'by_name'} -%}
        {%- if update_condition -%}
            {%- do update.update({'condition': update_condition}) -%}
        {%- endif -%}
        {%- set insert = {'action': 'insert', 'mode': 'by_name'} -%}
        {%- set when_matched = [update] -%}
        {%- if delete_when -%}
            {%- set when_matched = [{'condition': delete_when, 'action': 'delete'}, update] -%}
            {%- do insert.update({'condition': 'not (' ~ delete_when ~ ')'}) -%}
        {%- endif -%}
        {%- set when_not_matched = [insert] -%}
        {%- if delete_unmatched_when -%}
            {%- do when_not_matched.append({'by': 'source', 'condition': delete_unmatched_when, 'action': 'delete'}) -%}
        {%- endif -%}
        {%- do settings.update({'merge_clauses': {
            'when_matched': when_matched,
            'when_not_matched': when_not_matched,
        }}) -%}
    {%- elif update_condition -%}
        {%- do settings.update({'merge_update_condition': update_condition}) -%}
    {%- endif -%}
    {{ config(**settings) }}
{%- endmacro %}
