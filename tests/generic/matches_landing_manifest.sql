{#- Raw holds exactly the rows each landing manifest announced for the files it loaded: no row
    lost or doubled on the way in. Files the run skipped are not in raw and are not compared.
    A windowed run tests raw's rows of batches on or after window_start (macros/test_scope.sql),
    so it reads only those batches' manifests: reading every manifest cost a time growing with
    the number of batches landed. -#}
{% test matches_landing_manifest(model, entity) %}
{%- set manifest_paths = landing_manifest_paths(entity, strata_window_start() if strata_is_windowed() else none) %}
with

manifest_files as (
    {%- if manifest_paths | length == 0 %}
    select
        cast(null as varchar) as source_file,
        cast(null as bigint) as announced_rows
    where false
    {%- else %}
    select
        '{{ entity }}/' || manifest.batch_date || '/' || listed.file.name as source_file,
        listed.file.rows as announced_rows
    from read_json(
        [{%- for path in manifest_paths %}'{{ path }}'{{ ", " if not loop.last }}{% endfor -%}],
        columns = {batch_date: 'varchar', files: 'struct(name varchar, "rows" bigint)[]'}
    ) as manifest
    cross join unnest(manifest.files) as listed (file)
    {%- endif %}
),

loaded_files as (
    select
        _source_file as source_file,
        count(*) as loaded_rows
    from {{ model }}
    group by _source_file
)

select
    loaded_files.source_file,
    loaded_files.loaded_rows,
    manifest_files.announced_rows
from loaded_files
left join manifest_files on loaded_files.source_file = manifest_files.source_file
where manifest_files.announced_rows is null
    or manifest_files.announced_rows != loaded_files.loaded_rows
{% endtest %}
