{#- product -> type -> category (food or drink). -#}
with

products as (
    select * from {{ ref('cnf_products') }}
),

product_types as (
    select * from {{ ref('product_types') }}
),

final as (
    select
        products.product_id,
        products.product_name,
        products.product_type,
        product_types.product_category,
        product_types.product_category = 'food' as is_food_item,
        product_types.product_category = 'drink' as is_drink_item
    from products
    inner join product_types on products.product_type = product_types.product_type
)

select * from final
