{#- store -> city -> state -> region. A store missing from the store_regions seed lands in
    region 'Unassigned' (and a warning test says so) rather than vanishing from the hierarchy. -#}
with

stores as (
    select * from {{ ref('cnf_stores') }}
),

store_regions as (
    select * from {{ ref('store_regions') }}
),

final as (
    select
        stores.store_id,
        stores.store_name,
        coalesce(store_regions.city, stores.store_name) as city,
        coalesce(store_regions.state, 'Unknown') as state,
        coalesce(store_regions.region, 'Unassigned') as region
    from stores
    left join store_regions on stores.store_name = store_regions.store_name
)

select * from final
