{#-
  Nothing is dropped silently between raw and conformed. For one entity:

      raw rows = conformed rows + rejected rows + superseded versions + exact duplicates
                 + rows left out as later than the lookback

  where, among the rows that passed every check, duplicates are extra copies of the same key
  with the same content, superseded versions are older contents of a key, and late rows are
  those the late-arrivals ledger lists for this entity (incremental runs leave them out). The checked view
  must carry raw 1:1, and every rejected row must appear in the quarantine. Returns one row with
  all the figures when any of this fails.
-#}
{% test reconciles_with_raw(
    model, raw_model, checked_model, rejects_model, key_column,
    late_model=none, late_entity=none, business_date_column=none
) %}
{%- if strata_is_windowed() %}
{{
    reconciles_window_with_raw(
        model, raw_model, checked_model, rejects_model, key_column, business_date_column
    )
}}
{%- else %}
with

late_versions as (
    {%- if late_model %}
    select record_id, row_hash
    from {{ late_model }}
    where entity = '{{ late_entity }}'
    {%- else %}
    select
        cast(null as {{ dbt.type_string() }}) as record_id,
        cast(null as {{ dbt.type_string() }}) as row_hash
    where false
    {%- endif %}
),

valid_checked as (
    select checked.*
    from {{ checked_model }} as checked
    where checked.reject_reason is null
        and not exists (
            select 1
            from late_versions
            where late_versions.record_id = checked.{{ key_column }}
                and late_versions.row_hash = checked.row_hash
        )
),

late_rows as (
    select count(*) as row_count
    from {{ checked_model }} as checked
    inner join late_versions
        on checked.{{ key_column }} = late_versions.record_id
        and checked.row_hash = late_versions.row_hash
    where checked.reject_reason is null
),

raw_rows as (
    select count(*) as row_count from {{ raw_model }}
),

checked_rows as (
    select
        count(*) as row_count,
        sum(case when reject_reason is not null then 1 else 0 end) as failed_rows
    from {{ checked_model }}
),

valid_rows as (
    select
        count(*) as row_count,
        count(distinct {{ key_column }}) as distinct_keys
    from valid_checked
),

valid_contents as (
    select count(*) as distinct_contents
    from (
        select distinct {{ key_column }}, row_hash
        from valid_checked
    ) as contents
),

conformed_rows as (
    select count(*) as row_count from {{ model }}
),

rejected_rows as (
    select count(*) as row_count from {{ rejects_model }}
),

figures as (
    select
        raw_rows.row_count as raw_count,
        checked_rows.row_count as checked_count,
        conformed_rows.row_count as conformed_count,
        rejected_rows.row_count as rejected_count,
        checked_rows.failed_rows as failed_count,
        valid_contents.distinct_contents - valid_rows.distinct_keys as superseded_count,
        valid_rows.row_count - valid_contents.distinct_contents as duplicate_count,
        valid_rows.distinct_keys as distinct_valid_keys,
        late_rows.row_count as late_count
    from raw_rows
    cross join checked_rows
    cross join valid_rows
    cross join valid_contents
    cross join conformed_rows
    cross join rejected_rows
    cross join late_rows
)

select *
from figures
where
    raw_count != conformed_count + rejected_count + superseded_count + duplicate_count + late_count
    or checked_count != raw_count
    or rejected_count != failed_count
    or conformed_count != distinct_valid_keys
{%- endif %}
{% endtest %}
