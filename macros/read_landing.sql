{#-
  Reads the landing batches of one source entity that fall in the run's window; for reference
  entities (source meta `read: through_window_end`) every batch delivered before the window ends.

  The file list is taken at execution time with DuckDB's glob(), so a run only ever opens the
  files of its own batches: a corrupt batch outside the window cannot fail it, and one inside it
  fails this model alone, with DuckDB naming the file, and rolls back (no partial rows).
  A batch counts only once its _manifest.json exists (producers write it last), and batches the
  loader found corrupt arrive in var('excluded_batches') as "<entity>/<YYYY-MM-DD>" and are skipped.

  Columns are kept as delivered (strings: schema on read). Expected columns come from the
  source's YAML; a batch lacking one gets nulls, and columns a batch adds are kept (schema drift).
-#}
{% macro read_landing(source_relation) -%}
    {#- At parse time there is no graph to consult; the source() call is already recorded. -#}
    {%- if not execute -%}
        {{- return('select 1 as parse_placeholder') -}}
    {%- endif -%}
    {%- set entity = source_relation.identifier -%}
    {%- set source_node = strata_source_node(source_relation) -%}
    {%- set file_name = source_node.meta.landing_file -%}
    {%- set expected_columns = source_node.columns.keys() | list -%}
    {%- set files = landing_files(entity, file_name, source_node.meta.get('read') == 'through_window_end') -%}
    {%- set landing_root = strata_landing_root() -%}

with

landed as (
    {%- if files | length == 0 %}
    select
        {%- for column in expected_columns %}
        cast(null as varchar) as {{ adapter.quote(column) }},
        {%- endfor %}
        cast(null as varchar) as filename
    where false
    {%- elif file_name.endswith('.jsonl') %}
    select
        {%- for column in expected_columns %}
        json ->> '{{ column }}' as {{ adapter.quote(column) }},
        {%- endfor %}
        json as _record,
        filename
    from read_ndjson_objects(
        [{%- for file in files %}'{{ file }}'{{ ", " if not loop.last }}{% endfor -%}],
        filename = true
    )
    {%- else %}
    select *
    from (
        select
            {%- for column in expected_columns %}
            cast(null as varchar) as {{ adapter.quote(column) }}{{ "," if not loop.last }}
            {%- endfor %}
        where false
    )
    union all by name
    select *
    from read_csv(
        [{%- for file in files %}'{{ file }}'{{ ", " if not loop.last }}{% endfor -%}],
        all_varchar = true,
        union_by_name = true,
        filename = true,
        header = true,
        delim = ',',
        quote = '"',
        escape = '"',
        strict_mode = true,
        null_padding = false
    )
    {%- endif %}
)

select
    * exclude (filename),
    cast(regexp_extract(filename, '(\d{4}-\d{2}-\d{2})/[^/]+$', 1) as date) as _batch_date,
    replace(filename, '{{ landing_root }}/', '') as _source_file,
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as timestamp) as _loaded_at
from landed
{%- endmacro %}


{% macro strata_landing_root() -%}
    {{- return(env_var('STRATA_HOME', '.strata') ~ '/landing') -}}
{%- endmacro %}


{% macro strata_source_node(source_relation) -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.source_name == 'landing' and node.name == source_relation.identifier -%}
            {{- return(node) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- exceptions.raise_compiler_error("no landing source named " ~ source_relation.identifier) -}}
{%- endmacro %}


{#- Complete batch files of one entity inside the run's window (or, through_window_end, before
    the window's end), oldest first. -#}
{% macro landing_files(entity, file_name, through_window_end=false) -%}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set entity_root = strata_landing_root() ~ '/' ~ entity -%}
    {%- set excluded = var('excluded_batches', []) -%}
    {%- set query -%}
        with

        data_files as (
            select
                file,
                regexp_extract(file, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1) as batch_date
            from glob('{{ entity_root }}/*/{{ file_name }}')
        ),

        manifests as (
            select regexp_extract(file, '/(\d{4}-\d{2}-\d{2})/[^/]+$', 1) as batch_date
            from glob('{{ entity_root }}/*/_manifest.json')
        )

        select data_files.file
        from data_files
        inner join manifests on data_files.batch_date = manifests.batch_date
        where
            data_files.batch_date < '{{ strata_window_end() }}'
            {%- if not through_window_end %}
            and data_files.batch_date >= '{{ strata_window_start() }}'
            {%- endif %}
            {%- for batch in excluded %}
            and '{{ entity }}/' || data_files.batch_date != '{{ batch }}'
            {%- endfor %}
        order by data_files.file
    {%- endset -%}
    {{- return(run_query(query).columns[0].values() | list) -}}
{%- endmacro %}


{#- Manifests of an entity's batches, oldest first; with `since` (a date), only those of batches
    on or after it. -#}
{% macro landing_manifest_paths(entity, since=none) -%}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set query -%}
        select file
        from glob('{{ strata_landing_root() }}/{{ entity }}/*/_manifest.json')
        where regexp_matches(file, '/\d{4}-\d{2}-\d{2}/_manifest\.json$')
            {%- if since %}
            and regexp_extract(file, '/(\d{4}-\d{2}-\d{2})/_manifest\.json$', 1) >= '{{ strata_checked_date(since, 'since') }}'
            {%- endif %}
        order by file
    {%- endset -%}
    {{- return(run_query(query).columns[0].values() | list) -}}
{%- endmacro %}
