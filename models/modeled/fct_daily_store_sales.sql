{#- One row per store and day for every day with at least one order anywhere in the chain and
    every store open that day, so a store without sales that day is a zero row rather than a
    gap. (Days are taken from the orders, not from a first-to-last range, so that a run can
    rebuild just its days: an incremental run rebuilds the days on or after the lookback start.) Sales count
    orders whose status counts as revenue (placed, completed); cancelled and returned orders are
    counted apart and excluded from revenue. -#}
{{ merge_config(['sales_date', 'daily_store_sales_id'], 'sales_date', 'lookback_start') }}

with

orders as (
    select * from {{ ref('fct_orders') }}
    where {{ strata_rebuilt('order_date') }}
),

stores as (
    select * from {{ ref('dim_stores') }}
),

order_statuses as (
    select * from {{ ref('ref_order_statuses') }}
),

order_days as (
    select distinct order_date from orders
),

store_days as (
    select
        stores.store_id,
        order_days.order_date as sales_date
    from stores
    inner join order_days on stores.opened_date <= order_days.order_date
),

daily_sales as (
    select
        orders.store_id,
        orders.order_date as sales_date,
        sum(case when order_statuses.is_revenue then 1 else 0 end) as count_orders,
        sum(case when order_statuses.is_revenue then orders.count_order_items else 0 end) as count_items,
        sum(case when order_statuses.is_revenue then orders.subtotal else 0 end) as revenue,
        sum(case when order_statuses.is_revenue then orders.tax_paid else 0 end) as tax_paid,
        sum(case when order_statuses.is_revenue then orders.order_cost else 0 end) as supply_cost,
        sum(case when orders.order_status = 'cancelled' then 1 else 0 end) as count_cancelled_orders,
        sum(case when orders.order_status = 'returned' then 1 else 0 end) as count_returned_orders
    from orders
    inner join order_statuses on orders.order_status = order_statuses.order_status
    group by orders.store_id, orders.order_date
),

final as (
    select
        ---------- keys
        {{ surrogate_key(['store_days.store_id', 'store_days.sales_date']) }} as daily_store_sales_id,
        store_days.store_id,

        ---------- numerics
        cast(coalesce(daily_sales.count_orders, 0) as bigint) as count_orders,
        cast(coalesce(daily_sales.count_items, 0) as bigint) as count_items,
        cast(coalesce(daily_sales.revenue, 0) as decimal(18, 2)) as revenue,
        cast(coalesce(daily_sales.tax_paid, 0) as decimal(18, 2)) as tax_paid,
        cast(coalesce(daily_sales.supply_cost, 0) as decimal(18, 2)) as supply_cost,
        cast(coalesce(daily_sales.revenue, 0) - coalesce(daily_sales.supply_cost, 0) as decimal(18, 2)) as margin,
        cast(coalesce(daily_sales.count_cancelled_orders, 0) as bigint) as count_cancelled_orders,
        cast(coalesce(daily_sales.count_returned_orders, 0) as bigint) as count_returned_orders,

        ---------- dates
        store_days.sales_date
    from store_days
    left join daily_sales
        on store_days.store_id = daily_sales.store_id
            and store_days.sales_date = daily_sales.sales_date
)

select * from final
{{ strata_stored_order('sales_date') }}
