{#- The incremental settings every merged model shares. The merge sees only stored rows whose
    date_column is on or after `since` (a date or a timestamp: what the window can touch) or that
    satisfy `also_match`; when version_column is given it replaces a stored row only with a newer
    version; when delete_when is given, incoming rows satisfying it delete their stored match and
    are never inserted (a quarantined row that now passes); stored rows that satisfy
    delete_unmatched_when and have no incoming match are deleted (what a rebuild no longer
    produces, such as two sessions a late event joined into one). The statements are written by
    the strata_merge strategy below. Column changes fail the run: they need a deliberate
    --full-refresh. -#}
{% macro merge_config(
    unique_key, date_column=none, since=none, version_column=none,
    delete_when=none, also_match=none, delete_unmatched_when=none
) -%}
    {%- set settings = {
        'materialized': 'incremental',
        'incremental_strategy': 'strata_merge',
        'unique_key': unique_key,
        'on_schema_change': 'fail',
    } -%}
    {%- set meta = {} -%}
    {%- if date_column -%}
        {%- set since_type = 'date' if (since | string | length) == 10 else 'timestamp' -%}
        {%- set predicate = 'DBT_INTERNAL_DEST.' ~ date_column ~ " >= cast('" ~ since ~ "' as " ~ since_type ~ ")" -%}
        {%- if also_match -%}
            {%- set predicate = '(' ~ predicate ~ ' or ' ~ also_match ~ ')' -%}
        {%- endif -%}
        {%- do settings.update({'incremental_predicates': [predicate]}) -%}
        {#- Tests of a windowed run read what the merge could touch (macros/test_scope.sql). -#}
        {%- do meta.update({'test_scope': {'column': date_column, 'since': since}}) -%}
    {%- endif -%}
    {%- do meta.update({'merge': {
        'update_when': strata_newer_version(version_column) if version_column else none,
        'delete_when': delete_when,
        'delete_unmatched_when': delete_unmatched_when,
    }}) -%}
    {%- do settings.update({'meta': meta}) -%}
    {{ config(**settings) }}
{%- endmacro %}


{#- Incremental strategy strata_merge: the MERGE that merge_config() describes (its settings in
    meta.merge), then, with delete_unmatched_when, a DELETE of the stored rows it names that the
    run's select no longer produces. Written here rather than through the adapter's merge
    options for two reasons:
    - a stored row is updated only when a column differs: a run re-selects every row of a few
      days (modeled facts, sessions), nearly all unchanged, and rewriting them cost most of those
      models' time and made the commit's checkpoint rewrite their row groups;
    - the stale rows are deleted by their own statement, not by a WHEN NOT MATCHED BY SOURCE
      clause, which makes the MERGE an outer join on the target side: DuckDB then cannot push the
      incremental_predicates into the target scan and reads the whole table on every run.
    Both statements run in the model's transaction. Standard SQL MERGE; `is not distinct from`
    compares nulls as equal. -#}
{% macro get_incremental_strata_merge_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set predicates = arg_dict['incremental_predicates'] or [] -%}
    {%- set settings = config.get('meta')['merge'] -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | list -%}
    {%- set conditions = [] -%}
    {%- for key in keys -%}
        {%- do conditions.append('DBT_INTERNAL_SOURCE.' ~ key ~ ' = DBT_INTERNAL_DEST.' ~ key) -%}
    {%- endfor -%}
    merge into {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    on ({{ (conditions + predicates) | join(') and (') }})
    {%- if settings.delete_when %}
    when matched and {{ settings.delete_when }} then delete
    {%- endif %}
    when matched
        {%- if settings.update_when %}
        and {{ settings.update_when }}
        {%- endif %}
        and not (
            {%- for column in columns %}
            DBT_INTERNAL_SOURCE.{{ column }} is not distinct from DBT_INTERNAL_DEST.{{ column }}{{ ' and' if not loop.last }}
            {%- endfor %}
        )
        then update set
            {%- for column in columns %}
            {{ column }} = DBT_INTERNAL_SOURCE.{{ column }}{{ ',' if not loop.last }}
            {%- endfor %}
    when not matched
        {%- if settings.delete_when %}
        and not ({{ settings.delete_when }})
        {%- endif %}
        then insert ({{ columns | join(', ') }})
        values (
            {%- for column in columns -%}
            DBT_INTERNAL_SOURCE.{{ column }}{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
    {%- if settings.delete_unmatched_when %};

    delete from {{ target }} as DBT_INTERNAL_DEST
    where ({{ settings.delete_unmatched_when }})
        and not exists (
            select 1
            from {{ source }} as DBT_INTERNAL_SOURCE
            where {{ conditions | join(' and ') }}
        )
    {%- endif %}
{%- endmacro %}


{#- The order a merged model writes its rows in: by the date its windowed reads, its merge's
    incremental_predicates and its tests' scope filter on. DuckDB keeps a CREATE TABLE AS's
    ORDER BY as the storage order (preserve_insertion_order) and keeps min/max statistics per row
    group (zone maps), so a `date >= lookback start` filter then skips every older row group
    instead of scanning the whole table, and a merge's updates land in the few newest row groups,
    which is all the next checkpoint rewrites. Written in hash order, every row group spans the
    whole history and nothing can be skipped. (Elsewhere an ORDER BY here only costs a sort.) -#}
{% macro strata_stored_order(date_column) -%}
    order by {{ date_column }}
{%- endmacro %}
