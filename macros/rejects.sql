{#- The quarantine of a conformed entity: every row its checked model failed, with the reason.
    One row per delivered row; exact repeats of a bad row are numbered, not merged, so the
    reconciliation against raw can count them. -#}
{% macro rejects_from(checked_model, key_column) -%}
{#- A quarantine grows with every batch: merged per window, keyed by batch date first so the
    merge only touches the window's batches. -#}
{{ merge_config(['source_batch_date', 'reject_id'], 'source_batch_date', strata_window_start()) }}
with

checked as (
    select * from {{ checked_model }}
    where {{ strata_in_window('source_batch_date') }}
),

rejected as (
    select
        reject_reason,
        {{ key_column }},
        delivered_record,
        source_batch_date,
        source_file,
        row_hash,
        row_number() over (
            partition by source_file, row_hash
            order by reject_reason
        ) as occurrence_number
    from checked
    where reject_reason is not null
),

final as (
    select
        {{ surrogate_key(['source_file', 'row_hash', 'occurrence_number']) }} as reject_id,
        reject_reason,
        {{ key_column }},
        delivered_record,
        source_batch_date,
        source_file
    from rejected
)

select * from final
{%- endmacro %}


{#- The conformed rows of an entity: valid rows only, the latest version per key (the first
    delivery of it when it arrived more than once).
    An incremental run ranks only the rows its window delivered (business_date_column, when
    given, drops rows later than the lookback); strata_newer_version() then lets the merge
    replace a stored row only with a newer version, so runs in any order end where a full
    refresh does. -#}
{% macro latest_valid_versions(checked_model, key_column, columns, version_column, business_date_column=none) -%}
with

checked as (
    select * from {{ checked_model }}
    where reject_reason is null
        and {{ strata_in_window('source_batch_date', business_date_column) }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by {{ key_column }}
            order by {{ version_column }} desc, source_batch_date asc, row_hash desc
        ) as version_rank
    from checked
),

final as (
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        source_batch_date,
        row_hash
    from ranked
    where version_rank = 1
)

select * from final
{%- endmacro %}


{#- Merge guard: the incoming version is newer than the stored one, by the same order that
    latest_valid_versions ranks with: the later version; between equal versions the first
    delivery (earliest batch), so a redelivery, however late, never moves a row; then the
    fingerprint, only to make the order total. -#}
{% macro strata_newer_version(version_column) -%}
    {%- set new = 'DBT_INTERNAL_SOURCE.' -%}
    {%- set old = 'DBT_INTERNAL_DEST.' -%}
    {{- return(
        '(' ~ new ~ version_column ~ ' > ' ~ old ~ version_column
        ~ ' or (' ~ new ~ version_column ~ ' = ' ~ old ~ version_column
        ~ ' and (' ~ new ~ 'source_batch_date < ' ~ old ~ 'source_batch_date'
        ~ ' or (' ~ new ~ 'source_batch_date = ' ~ old ~ 'source_batch_date'
        ~ ' and ' ~ new ~ 'row_hash > ' ~ old ~ 'row_hash))))'
    ) -}}
{%- endmacro %}
