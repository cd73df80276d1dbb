{#- Used by the reconciles_with_raw test (tests/generic/). -#}

{#- The same promise for a windowed run, on the rows of the window's batches only, so that its
    cost follows the window: raw rows = checked rows; failing rows = quarantined rows; and every
    key that passed within the lookback is in the conformed table (it may hold a newer
    version: superseded rows and duplicates are not counted, they need the whole history; a full
    build checks the whole equation). Rows beyond the lookback are the late ledger's business:
    listed there, or already kept on a date this run does not read. `model` arrives scoped to
    the dates the run could touch. -#}
{% macro reconciles_window_with_raw(
    model, raw_model, checked_model, rejects_model, key_column, business_date_column
) %}
{%- set in_window -%}
    >= {{ strata_bound('window_start') }} and {batch} < {{ strata_bound('window_end') }}
{%- endset -%}
with

raw_rows as (
    select count(*) as row_count
    from {{ raw_model }}
    where _batch_date {{ in_window | replace('{batch}', '_batch_date') }}
),

window_checked as (
    select *
    from {{ checked_model }}
    where source_batch_date {{ in_window | replace('{batch}', 'source_batch_date') }}
),

checked_rows as (
    select
        count(*) as row_count,
        sum(case when reject_reason is not null then 1 else 0 end) as failed_rows
    from window_checked
),

rejected_rows as (
    select count(*) as row_count
    from {{ rejects_model }}
    where source_batch_date {{ in_window | replace('{batch}', 'source_batch_date') }}
),

missing_keys as (
    select count(distinct window_checked.{{ key_column }}) as key_count
    from window_checked
    where window_checked.reject_reason is null
        {%- if business_date_column %}
        and window_checked.{{ business_date_column }}
            >= {{ dbt.dateadd('day', -strata_lookback_days(), 'window_checked.source_batch_date') }}
        {%- endif %}
        and window_checked.{{ key_column }} not in (select {{ key_column }} from {{ model }})
),

figures as (
    select
        raw_rows.row_count as raw_count,
        checked_rows.row_count as checked_count,
        checked_rows.failed_rows as failed_count,
        rejected_rows.row_count as rejected_count,
        missing_keys.key_count as missing_key_count
    from raw_rows
    cross join checked_rows
    cross join rejected_rows
    cross join missing_keys
)

select *
from figures
where checked_count != raw_count
    or coalesce(failed_count, 0) != rejected_count
    or missing_key_count > 0
{% endmacro %}
