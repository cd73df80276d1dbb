{#- The quarantine of a conformed entity: every row its checked model failed, with the reason.
    One row per delivered row; exact repeats of a bad row are numbered, not merged, so the
    reconciliation against raw can count them. -#}
{% macro rejects_from(checked_model, key_column) -%}
with

checked as (
    select * from {{ checked_model }}
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


{#- The conformed rows of an entity: valid rows only, the latest version per key. Exact
    duplicates collapse because they tie on every ordering column and carry the same values. -#}
{% macro latest_valid_versions(checked_model, key_column, columns, version_order) -%}
with

checked as (
    select * from {{ checked_model }}
    where reject_reason is null
),

ranked as (
    select
        *,
        row_number() over (
            partition by {{ key_column }}
            order by {{ version_order }}, source_batch_date desc, row_hash desc
        ) as version_rank
    from checked
),

final as (
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        source_batch_date
    from ranked
    where version_rank = 1
)

select * from final
{%- endmacro %}
