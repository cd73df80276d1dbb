{#- A customer's order number counts all their earlier orders. An incremental run rebuilds the
    orders on or after the lookback start and adds the number of the customer's orders before
    it, which no run can change any more. -#}
{{ merge_config(['order_date', 'order_id'], 'order_date', 'lookback_start') }}

with

orders as (
    select * from {{ ref('cnf_orders') }}
    where {{ strata_rebuilt('order_date') }}
),

order_items as (
    select * from {{ ref('fct_order_items') }}
    where {{ strata_rebuilt('order_date') }}
),

earlier_orders as (
    select
        stored_orders.customer_id,
        count(*) as count_orders
    from {{ ref('cnf_orders') }} as stored_orders
    where {{ strata_if_incremental('not (' ~ strata_rebuilt('stored_orders.order_date') ~ ')', otherwise='false') }}
        and stored_orders.customer_id in (select orders.customer_id from orders)
    group by stored_orders.customer_id
),

order_item_summary as (
    select
        order_id,
        sum(product_price) as order_items_subtotal,
        sum(supply_cost) as order_cost,
        count(*) as count_order_items,
        sum(case when is_food_item then 1 else 0 end) as count_food_items,
        sum(case when is_drink_item then 1 else 0 end) as count_drink_items
    from order_items
    group by order_id
),

final as (
    select
        ---------- keys
        orders.order_id,
        orders.customer_id,
        orders.store_id,

        ---------- text
        orders.order_status,

        ---------- numerics
        cast(orders.subtotal as decimal(18, 2)) as subtotal,
        cast(orders.tax_paid as decimal(18, 2)) as tax_paid,
        cast(orders.order_total as decimal(18, 2)) as order_total,
        cast(coalesce(order_item_summary.order_cost, 0) as decimal(18, 2)) as order_cost,
        cast(coalesce(order_item_summary.order_items_subtotal, 0) as decimal(18, 2)) as order_items_subtotal,
        cast(coalesce(order_item_summary.count_order_items, 0) as bigint) as count_order_items,
        cast(coalesce(order_item_summary.count_food_items, 0) as bigint) as count_food_items,
        cast(coalesce(order_item_summary.count_drink_items, 0) as bigint) as count_drink_items,
        cast(
            coalesce(earlier_orders.count_orders, 0)
            + row_number() over (
                partition by orders.customer_id
                order by orders.ordered_at, orders.order_id
            ) as bigint
        ) as customer_order_number,

        ---------- booleans
        coalesce(order_item_summary.count_food_items, 0) > 0 as is_food_order,
        coalesce(order_item_summary.count_drink_items, 0) > 0 as is_drink_order,

        ---------- timestamps
        orders.ordered_at,
        orders.order_date,
        orders.updated_at
    from orders
    left join order_item_summary on orders.order_id = order_item_summary.order_id
    left join earlier_orders on orders.customer_id = earlier_orders.customer_id
)

select * from final
{{ strata_stored_order('order_date') }}
