{{ config(materialized='view') }}

{#- Every delivered customer row, typed, with the first rule it breaks (null when none). -#}
with

raw_customers as (
    select * from {{ ref('raw_customers') }}
),

typed as (
    select
        ---------- ids
        nullif(trim(id), '') as customer_id,

        ---------- text
        nullif(trim(name), '') as customer_name,
        lower(nullif(trim(email), '')) as customer_email,

        ---------- timestamps
        {#- jafgen sends no updated_at: such a profile counts as written on its batch date. #}
        coalesce({{ to_utc_timestamp('updated_at') }}, cast(_batch_date as timestamp)) as updated_at,

        ---------- delivered values, for checks and the quarantine
        updated_at as delivered_updated_at,
        {{ delivered_record(['id', 'name', 'email', 'updated_at']) }} as delivered_record,
        {{ row_hash(['id', 'name', 'email', 'updated_at']) }} as row_hash,

        ---------- load metadata
        _batch_date as source_batch_date,
        _source_file as source_file
    from raw_customers
),

checked as (
    select
        *,
        case
            when customer_id is null then 'null_key'
            when customer_name is null then 'missing_value'
            when {{ to_utc_timestamp('delivered_updated_at') }} is null and delivered_updated_at is not null
                then 'bad_timestamp'
        end as reject_reason
    from typed
)

select * from checked
