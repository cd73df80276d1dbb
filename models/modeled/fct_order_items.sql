{{ merge_config(['order_date', 'order_item_id'], 'order_date', 'lookback_start') }}

with

order_items as (
    select * from {{ ref('cnf_order_items') }}
    where {{ strata_rebuilt('order_date') }}
),

orders as (
    select * from {{ ref('cnf_orders') }}
    where {{ strata_rebuilt('order_date') }}
),

products as (
    select * from {{ ref('cnf_products') }}
),

product_hierarchy as (
    select * from {{ ref('ref_product_hierarchy') }}
),

supplies as (
    select * from {{ ref('cnf_supplies') }}
),

{# A product's supply cost is the sum of every supply listed for its sku. #}
product_supply_costs as (
    select
        product_id,
        sum(supply_cost) as supply_cost
    from supplies
    group by product_id
),

final as (
    select
        ---------- keys
        order_items.order_item_id,
        order_items.order_id,
        order_items.product_id,
        orders.customer_id,
        orders.store_id,

        ---------- numerics
        cast(products.product_price as decimal(18, 2)) as product_price,
        cast(coalesce(product_supply_costs.supply_cost, 0) as decimal(18, 2)) as supply_cost,

        ---------- booleans
        product_hierarchy.is_food_item,
        product_hierarchy.is_drink_item,

        ---------- timestamps
        orders.ordered_at,
        orders.order_date
    from order_items
    inner join orders on order_items.order_id = orders.order_id
    inner join products on order_items.product_id = products.product_id
    inner join product_hierarchy on order_items.product_id = product_hierarchy.product_id
    left join product_supply_costs on order_items.product_id = product_supply_costs.product_id
)

select * from final
{{ strata_stored_order('order_date') }}
