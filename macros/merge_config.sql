{#- The incremental settings every merged model shares. The merge sees only stored rows whose
    date_column is on or after the window bound named by `since` (what the window can touch: a
    name from strata_bound_names(), such as 'lookback_start') or that satisfy `also_match`; when
    version_column is given it replaces a stored row only with a newer version; when delete_when
    is given, incoming rows satisfying it delete their stored match and are never inserted (a
    quarantined row that now passes); stored rows that satisfy delete_unmatched_when and have no
    incoming match are deleted (what a rebuild no longer produces, such as two sessions a late
    event joined into one). Conditions name window bounds as {name}: dbt stores these settings
    at parse time, and the bounds are filled in when the model runs (strata_fill_bounds). The
    statements are written by the strata_merge strategy below. Column changes fail the run: they
    need a deliberate --full-refresh. -#}
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
    {%- for condition in [delete_when, also_match, delete_unmatched_when] if condition -%}
        {%- for name in modules.re.findall('\\{(\\w+)\\}', condition) -%}
            {%- do strata_bound_placeholder(name) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- set meta = {} -%}
    {%- if date_column -%}
        {%- set predicate = 'DBT_INTERNAL_DEST.' ~ date_column ~ ' >= ' ~ strata_bound_placeholder(since) -%}
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


{#- Incremental strategy strata_merge: what merge_config() describes (its settings in meta.merge),
    as one statement per action rather than one MERGE:
    1. with delete_when, DELETE the stored rows whose incoming match satisfies it;
    2. INSERT the incoming rows with no stored match (an anti-join), except those delete_when names;
    3. UPDATE the stored rows whose incoming match differs in some column (and, with a version
       column, is newer);
    4. with delete_unmatched_when, DELETE the stored rows it names that the run's select no
       longer produces (such as two sessions a late event joined into one).
    Why statements and not a MERGE:
    - each statement reports its own row count, so run_results carries rows inserted, updated and
      deleted (orchestration/dbt_row_counts.py); a DuckDB MERGE reports only its total;
    - a stored row is updated only when a column differs: a run re-selects every row of a few
      days (modeled facts, sessions), nearly all unchanged, and rewriting them cost most of those
      models' time and made the commit's checkpoint rewrite their row groups;
    - the stale rows of step 4 have their own statement: as a WHEN NOT MATCHED BY SOURCE clause
      it made the MERGE an outer join on the target side, and DuckDB then read the whole table.
    The INSERT runs before the UPDATE so that both see the stored rows as the run found them, as
    one MERGE would: an update that moved a row out of the incremental_predicates' range must not
    make the insert take it for a new row. Every statement carries the incremental_predicates, so
    none scans more of the table than the MERGE did. All run in the model's transaction.
    The default uses DELETE ... USING and UPDATE ... FROM, which Postgres, Snowflake and Redshift
    share with DuckDB (tested on DuckDB only); an adapter without them (BigQuery, Databricks) needs
    its own <adapter>__strata_merge_sql, a single MERGE, at the price of the count split; like this
    one it must fill the window bounds into the predicates and conditions (strata_fill_bounds). -#}
{% macro get_incremental_strata_merge_sql(arg_dict) -%}
    {{- return(adapter.dispatch('strata_merge_sql', 'strata')(arg_dict)) -}}
{%- endmacro %}


{% macro default__strata_merge_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set unique_key = arg_dict['unique_key'] -%}
    {%- set keys = [unique_key] if unique_key is string else unique_key -%}
    {%- set predicates = [] -%}
    {%- for predicate in arg_dict['incremental_predicates'] or [] -%}
        {%- do predicates.append(strata_fill_bounds(predicate)) -%}
    {%- endfor -%}
    {%- set stored = config.get('meta')['merge'] -%}
    {%- set settings = {} -%}
    {%- for name in ['update_when', 'delete_when', 'delete_unmatched_when'] -%}
        {%- do settings.update({name: strata_fill_bounds(stored.get(name))}) -%}
    {%- endfor -%}
    {%- set columns = arg_dict['dest_columns'] | map(attribute='quoted') | list -%}
    {%- set conditions = [] -%}
    {%- for key in keys -%}
        {%- do conditions.append('DBT_INTERNAL_SOURCE.' ~ key ~ ' = DBT_INTERNAL_DEST.' ~ key) -%}
    {%- endfor -%}
    {%- set matched = '(' ~ (conditions + predicates) | join(') and (') ~ ')' -%}
    {%- if settings.delete_when -%}
    delete from {{ target }} as DBT_INTERNAL_DEST
    using {{ source }} as DBT_INTERNAL_SOURCE
    where {{ matched }}
        and {{ settings.delete_when }};

    {% endif -%}
    insert into {{ target }} ({{ columns | join(', ') }})
    select
        {%- for column in columns %}
        DBT_INTERNAL_SOURCE.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ source }} as DBT_INTERNAL_SOURCE
    where not exists (
            select 1
            from {{ target }} as DBT_INTERNAL_DEST
            where {{ matched }}
        )
        {%- if settings.delete_when %}
        and not ({{ settings.delete_when }})
        {%- endif %};

    update {{ target }} as DBT_INTERNAL_DEST
    set
        {%- for column in columns %}
        {{ column }} = DBT_INTERNAL_SOURCE.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ source }} as DBT_INTERNAL_SOURCE
    where {{ matched }}
        {%- if settings.update_when %}
        and {{ settings.update_when }}
        {%- endif %}
        and not (
            {%- for column in columns %}
            DBT_INTERNAL_SOURCE.{{ column }} is not distinct from DBT_INTERNAL_DEST.{{ column }}{{ ' and' if not loop.last }}
            {%- endfor %}
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
    incremental_predicates and its tests' scope filter on. DuckDB keeps the ORDER BY of a CREATE
    TABLE AS, or of the INSERT ... SELECT that fills a table with an enforced contract, as the
    storage order (preserve_insertion_order; checked on cnf_events and fct_orders, 2026-11-24) and
    keeps min/max statistics per row
    group (zone maps), so a `date >= lookback start` filter then skips every older row group
    instead of scanning the whole table, and a merge's updates land in the few newest row groups,
    which is all the next checkpoint rewrites. Written in hash order, every row group spans the
    whole history and nothing can be skipped. (Elsewhere an ORDER BY here only costs a sort.) -#}
{% macro strata_stored_order(date_column) -%}
    order by {{ date_column }}
{%- endmacro %}
