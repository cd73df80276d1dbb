{{ config(materialized='view') }}

{#- Every delivered web/app event, typed, with the first rule it breaks (null when none). -#}
with

raw_events as (
    select * from {{ ref('raw_events') }}
),

event_types as (
    select event_type from {{ ref('ref_event_types') }}
),

products as (
    select product_id from {{ ref('cnf_products') }}
),

typed as (
    select
        ---------- ids
        nullif(trim(event_id), '') as event_id,
        nullif(trim(anonymous_id), '') as anonymous_id,
        nullif(trim(customer_id), '') as customer_id,
        nullif(trim(sku), '') as product_id,
        nullif(trim(order_id), '') as order_id,

        ---------- text
        lower(nullif(trim(event_type), '')) as event_type,
        nullif(trim(page_path), '') as page_path,

        ---------- timestamps
        {{ to_utc_timestamp('occurred_at') }} as occurred_at,
        {{ to_utc_timestamp('collected_at') }} as collected_at,
        cast({{ to_utc_timestamp('occurred_at') }} as date) as event_date,

        ---------- delivered values, for checks and the quarantine
        occurred_at as delivered_occurred_at,
        collected_at as delivered_collected_at,
        {%- set event_columns = [
            'event_id', 'anonymous_id', 'customer_id', 'event_type', 'occurred_at', 'collected_at',
            'page_path', 'sku', 'order_id',
        ] %}
        {{ delivered_record(event_columns) }} as delivered_record,
        {{ row_hash(event_columns) }} as row_hash,

        ---------- load metadata
        _batch_date as source_batch_date,
        _source_file as source_file
    from raw_events
),

checked as (
    select
        typed.*,
        case
            when typed.event_id is null then 'null_key'
            when typed.anonymous_id is null or typed.event_type is null
                or typed.delivered_occurred_at is null or typed.delivered_collected_at is null
                then 'missing_value'
            when typed.occurred_at is null or typed.collected_at is null then 'bad_timestamp'
            when event_types.event_type is null then 'unknown_event_type'
            when typed.product_id is not null and products.product_id is null then 'unknown_product'
        end as reject_reason
    from typed
    left join event_types on typed.event_type = event_types.event_type
    left join products on typed.product_id = products.product_id
)

select * from checked
