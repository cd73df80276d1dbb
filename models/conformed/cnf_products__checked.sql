{{ config(materialized='view') }}

{#- Every delivered product row, typed, with the first rule it breaks (null when none). -#}
with

raw_products as (
    select * from {{ ref('raw_products') }}
),

product_types as (
    select product_type from {{ ref('product_types') }}
),

typed as (
    select
        ---------- ids
        nullif(trim(sku), '') as product_id,

        ---------- text
        nullif(trim(name), '') as product_name,
        lower(nullif(trim(type), '')) as product_type,
        nullif(trim(description), '') as product_description,

        ---------- numerics
        {{ safe_cast('price', 'bigint') }} as price_cents,

        ---------- delivered values, for checks and the quarantine
        price as delivered_price,
        {{ delivered_record(['sku', 'name', 'type', 'price', 'description']) }} as delivered_record,
        {{ row_hash(['sku', 'name', 'type', 'price', 'description']) }} as row_hash,

        ---------- load metadata
        _batch_date as source_batch_date,
        _source_file as source_file
    from raw_products
),

checked as (
    select
        typed.*,
        case
            when typed.product_id is null then 'null_key'
            when typed.product_name is null or typed.product_type is null or typed.delivered_price is null
                then 'missing_value'
            when typed.price_cents is null then 'bad_number'
            when typed.price_cents < 0 then 'negative_amount'
            when product_types.product_type is null then 'unknown_product_type'
        end as reject_reason
    from typed
    left join product_types on typed.product_type = product_types.product_type
)

select * from checked
