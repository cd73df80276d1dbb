{{ config(materialized='view') }}

{#- Every delivered store row, typed, with the first rule it breaks (null when none). -#}
with

raw_stores as (
    select * from {{ ref('raw_stores') }}
),

typed as (
    select
        ---------- ids
        nullif(trim(id), '') as store_id,

        ---------- text
        nullif(trim(name), '') as store_name,

        ---------- numerics
        {{ safe_cast('tax_rate', 'numeric(8, 6)') }} as tax_rate,

        ---------- timestamps
        {{ to_utc_timestamp('opened_at') }} as opened_at,

        ---------- delivered values, for checks and the quarantine
        tax_rate as delivered_tax_rate,
        opened_at as delivered_opened_at,
        {{ delivered_record(['id', 'name', 'opened_at', 'tax_rate']) }} as delivered_record,
        {{ row_hash(['id', 'name', 'opened_at', 'tax_rate']) }} as row_hash,

        ---------- load metadata
        _batch_date as source_batch_date,
        _source_file as source_file
    from raw_stores
),

checked as (
    select
        *,
        case
            when store_id is null then 'null_key'
            when store_name is null or delivered_tax_rate is null or delivered_opened_at is null
                then 'missing_value'
            when opened_at is null then 'bad_timestamp'
            when tax_rate is null then 'bad_number'
            when tax_rate < 0 or tax_rate >= 1 then 'out_of_range'
        end as reject_reason
    from typed
)

select * from checked
