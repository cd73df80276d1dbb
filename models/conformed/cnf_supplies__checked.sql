{{ config(materialized='view') }}

{#- Every delivered supply row, typed, with the first rule it breaks (null when none). A supply
    serves several products, so the key is the (supply, product) pair. -#}
with

raw_supplies as (
    select * from {{ ref('raw_supplies') }}
),

products as (
    select product_id from {{ ref('cnf_products') }}
),

typed as (
    select
        ---------- ids
        {{ surrogate_key(["nullif(trim(id), '')", "nullif(trim(sku), '')"]) }} as product_supply_id,
        nullif(trim(id), '') as supply_id,
        nullif(trim(sku), '') as product_id,

        ---------- text
        nullif(trim(name), '') as supply_name,

        ---------- numerics
        {{ safe_cast('cost', 'bigint') }} as cost_cents,

        ---------- booleans
        {{ safe_cast('perishable', 'boolean') }} as is_perishable,

        ---------- delivered values, for checks and the quarantine
        cost as delivered_cost,
        perishable as delivered_perishable,
        {{ delivered_record(['id', 'name', 'cost', 'perishable', 'sku']) }} as delivered_record,
        {{ row_hash(['id', 'name', 'cost', 'perishable', 'sku']) }} as row_hash,

        ---------- load metadata
        _batch_date as source_batch_date,
        _source_file as source_file
    from raw_supplies
),

checked as (
    select
        typed.*,
        case
            when typed.supply_id is null or typed.product_id is null then 'null_key'
            when typed.supply_name is null or typed.delivered_cost is null
                or typed.delivered_perishable is null
                then 'missing_value'
            when typed.cost_cents is null or typed.is_perishable is null then 'bad_number'
            when typed.cost_cents < 0 then 'negative_amount'
            when products.product_id is null then 'unknown_product'
        end as reject_reason
    from typed
    left join products on typed.product_id = products.product_id
)

select * from checked
