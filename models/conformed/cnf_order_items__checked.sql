{{ config(materialized='view') }}

{#- Every delivered order item row, typed, with the first rule it breaks (null when none). An
    item whose order was quarantined (or never arrived) is quarantined as unknown_order. -#}
with

raw_items as (
    select * from {{ ref('raw_items') }}
),

orders as (
    select
        order_id,
        order_date
    from {{ ref('cnf_orders') }}
),

products as (
    select product_id from {{ ref('cnf_products') }}
),

typed as (
    select
        ---------- ids
        nullif(trim(id), '') as order_item_id,
        nullif(trim(order_id), '') as order_id,
        nullif(trim(sku), '') as product_id,

        ---------- delivered values, for checks and the quarantine
        {{ delivered_record(['id', 'order_id', 'sku']) }} as delivered_record,
        {{ row_hash(['id', 'order_id', 'sku']) }} as row_hash,

        ---------- load metadata
        _batch_date as source_batch_date,
        _source_file as source_file
    from raw_items
),

checked as (
    select
        typed.*,
        orders.order_date,
        case
            when typed.order_item_id is null then 'null_key'
            when typed.order_id is null or typed.product_id is null then 'missing_value'
            when products.product_id is null then 'unknown_product'
            when orders.order_id is null then 'unknown_order'
        end as reject_reason
    from typed
    left join orders on typed.order_id = orders.order_id
    left join products on typed.product_id = products.product_id
)

select * from checked
