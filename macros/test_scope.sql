{#- What a test reads in a windowed run: only the rows the run could change.

    Every generic test reads the model it tests through get_where_subquery(). A model that
    declares `meta: {test_scope: {column: C, since: S}}` (merge_config() declares it for every
    merged model; raw and the checked views declare their batch date) is tested, in a windowed
    run, on rows with C >= S only, where S names a bound of the run's window (macros/window.sql,
    strata_bound: window_start, lookback_start, ...).
    Full builds test every row, so a nightly or weekly full build still checks the whole table;
    a daily run costs in proportion to its window instead of to the years behind it. -#}
{% macro default__get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append(where) -%}
    {%- endif -%}
    {%- set scope = strata_test_scope(relation) -%}
    {%- if scope -%}
        {%- do conditions.append(scope) -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- set filtered -%}
            (select * from {{ relation }} where ({{ conditions | join(') and (') }})) dbt_subquery
        {%- endset -%}
        {{- return(filtered) -}}
    {%- else -%}
        {{- return(relation) -}}
    {%- endif -%}
{%- endmacro %}

{#- A windowed run starts after the beginning of time (dbt_project.yml's default window_start);
    a run with only an end still covers every earlier batch. -#}
{% macro strata_is_windowed() -%}
    {{- return(strata_window_start() != '1970-01-01') -}}
{%- endmacro %}

{% macro strata_test_scope(relation) -%}
    {%- if not execute or not strata_is_windowed() or relation.identifier is not defined -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- for node in graph.nodes.values() -%}
        {%- if node.resource_type == 'model' and node.alias == relation.identifier and node.schema == relation.schema -%}
            {%- set scope = node.config.meta.get('test_scope') -%}
            {%- if scope -%}
                {{- return(scope.column ~ ' >= ' ~ strata_bound(scope.since)) -}}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(none) -}}
{%- endmacro %}
