with

products as (
    select * from {{ ref('cnf_products') }}
),

product_hierarchy as (
    select * from {{ ref('ref_product_hierarchy') }}
),

supplies as (
    select * from {{ ref('cnf_supplies') }}
),

product_supplies as (
    select
        product_id,
        sum(supply_cost) as supply_cost,
        count(*) as count_supplies,
        sum(case when is_perishable then 1 else 0 end) as count_perishable_supplies
    from supplies
    group by product_id
),

final as (
    select
        ---------- keys
        products.product_id,

        ---------- text
        products.product_name,
        products.product_type,
        product_hierarchy.product_category,
        products.product_description,

        ---------- numerics
        cast(products.product_price as decimal(18, 2)) as product_price,
        cast(coalesce(product_supplies.supply_cost, 0) as decimal(18, 2)) as supply_cost,
        cast(coalesce(product_supplies.count_supplies, 0) as bigint) as count_supplies,
        cast(coalesce(product_supplies.count_perishable_supplies, 0) as bigint) as count_perishable_supplies,

        ---------- booleans
        product_hierarchy.is_food_item,
        product_hierarchy.is_drink_item
    from products
    inner join product_hierarchy on products.product_id = product_hierarchy.product_id
    left join product_supplies on products.product_id = product_supplies.product_id
)

select * from final
