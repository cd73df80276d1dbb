with

stores as (
    select * from {{ ref('cnf_stores') }}
),

store_hierarchy as (
    select * from {{ ref('ref_store_hierarchy') }}
),

final as (
    select
        ---------- keys
        stores.store_id,

        ---------- text
        stores.store_name,
        store_hierarchy.city,
        store_hierarchy.state,
        store_hierarchy.region,

        ---------- numerics
        cast(stores.tax_rate as decimal(8, 6)) as tax_rate,

        ---------- timestamps
        stores.opened_at,
        cast(stores.opened_at as date) as opened_date
    from stores
    inner join store_hierarchy on stores.store_id = store_hierarchy.store_id
)

select * from final
