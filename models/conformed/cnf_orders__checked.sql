{{ config(materialized='view') }}

{#- Every delivered order row, typed and named the conformed way, with the first rule it breaks
    (null when it breaks none). cnf_orders and cnf_orders__rejects both read this one view, so a
    row is either conformed, superseded, a duplicate or rejected: never lost. -#}
with

raw_orders as (
    select * from {{ ref('raw_orders') }}
),

stores as (
    select store_id from {{ ref('cnf_stores') }}
),

order_statuses as (
    select order_status from {{ ref('ref_order_statuses') }}
),

typed as (
    select
        ---------- ids
        nullif(trim(id), '') as order_id,
        nullif(trim(customer), '') as customer_id,
        nullif(trim(store_id), '') as store_id,

        ---------- text
        lower(nullif(trim(status), '')) as order_status,

        ---------- numerics
        {{ safe_cast('subtotal', 'bigint') }} as subtotal_cents,
        {{ safe_cast('tax_paid', 'bigint') }} as tax_paid_cents,
        {{ safe_cast('order_total', 'bigint') }} as order_total_cents,

        ---------- timestamps
        {{ to_utc_timestamp('ordered_at') }} as ordered_at,
        coalesce({{ to_utc_timestamp('updated_at') }}, {{ to_utc_timestamp('ordered_at') }}) as updated_at,

        ---------- delivered values, for checks and the quarantine
        ordered_at as delivered_ordered_at,
        cast({{ to_utc_timestamp('ordered_at') }} as date) as order_date,
        updated_at as delivered_updated_at,
        subtotal as delivered_subtotal,
        tax_paid as delivered_tax_paid,
        order_total as delivered_order_total,
        {%- set order_columns = [
            'id', 'customer', 'ordered_at', 'store_id', 'subtotal', 'tax_paid', 'order_total', 'status', 'updated_at',
        ] %}
        {{ delivered_record(order_columns) }} as delivered_record,
        {{ row_hash(order_columns) }} as row_hash,

        ---------- load metadata
        _batch_date as source_batch_date,
        _source_file as source_file
    from raw_orders
),

checked as (
    select
        typed.*,
        case
            when typed.order_id is null then 'null_key'
            when typed.customer_id is null or typed.store_id is null or typed.order_status is null
                or typed.delivered_ordered_at is null or typed.delivered_subtotal is null
                or typed.delivered_tax_paid is null or typed.delivered_order_total is null
                then 'missing_value'
            when typed.ordered_at is null
                or (
                    {{ to_utc_timestamp('typed.delivered_updated_at') }} is null
                    and typed.delivered_updated_at is not null
                )
                then 'bad_timestamp'
            when typed.subtotal_cents is null or typed.tax_paid_cents is null
                or typed.order_total_cents is null
                then 'bad_number'
            when typed.subtotal_cents < 0 or typed.tax_paid_cents < 0 or typed.order_total_cents < 0
                then 'negative_amount'
            when typed.order_total_cents != typed.subtotal_cents + typed.tax_paid_cents
                then 'inconsistent_total'
            when stores.store_id is null then 'unknown_store'
            when order_statuses.order_status is null then 'unknown_status'
        end as reject_reason
    from typed
    left join stores on typed.store_id = stores.store_id
    left join order_statuses on typed.order_status = order_statuses.order_status
)

select * from checked
