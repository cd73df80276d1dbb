{#- One row per store and day, from the first to the last order date in the data, for every
    store open that day, so a day without sales is a zero row rather than a gap. Sales count
    orders whose status counts as revenue (placed, completed); cancelled and returned orders are
    counted apart and excluded from revenue. -#}
with

orders as (
    select * from {{ ref('fct_orders') }}
),

stores as (
    select * from {{ ref('dim_stores') }}
),

calendar as (
    select * from {{ ref('ref_calendar') }}
),

order_statuses as (
    select * from {{ ref('ref_order_statuses') }}
),

order_date_range as (
    select
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from orders
),

store_days as (
    select
        stores.store_id,
        calendar.calendar_date as sales_date
    from stores
    cross join order_date_range
    inner join calendar
        on calendar.calendar_date between order_date_range.first_order_date and order_date_range.last_order_date
    where calendar.calendar_date >= stores.opened_date
),

daily_sales as (
    select
        orders.store_id,
        orders.order_date as sales_date,
        sum(case when order_statuses.counts_as_revenue then 1 else 0 end) as count_orders,
        sum(case when order_statuses.counts_as_revenue then orders.count_order_items else 0 end) as count_items,
        sum(case when order_statuses.counts_as_revenue then orders.subtotal else 0 end) as revenue,
        sum(case when order_statuses.counts_as_revenue then orders.tax_paid else 0 end) as tax_paid,
        sum(case when order_statuses.counts_as_revenue then orders.order_cost else 0 end) as supply_cost,
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
