{#- Lifetime figures change only for customers with an order in the rebuilt range or a profile
    delivered by the window; an incremental run recomputes those customers from all their
    orders. Customers have no business date, so the merge matches on the key alone. -#}
{{ merge_config('customer_id') }}

with

{%- if is_incremental() %}

changed_customers as (
    select customer_id from {{ ref('fct_orders') }}
    where {{ strata_rebuilt('order_date') }}
    union
    select customer_id from {{ ref('cnf_customers') }}
    where {{ strata_in_window('source_batch_date') }}
),
{%- endif %}

customers as (
    select * from {{ ref('cnf_customers') }}
    {%- if is_incremental() %}
    where customer_id in (select customer_id from changed_customers)
    {%- endif %}
),

orders as (
    select * from {{ ref('fct_orders') }}
    {%- if is_incremental() %}
    where customer_id in (select customer_id from changed_customers)
    {%- endif %}
),

{# Lifetime figures count completed orders only: placed orders may still be cancelled, and
    cancelled or returned ones were refunded. #}
completed_order_summary as (
    select
        customer_id,
        count(*) as count_lifetime_orders,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        sum(subtotal) as lifetime_spend_pretax,
        sum(tax_paid) as lifetime_tax_paid,
        sum(order_total) as lifetime_spend
    from orders
    where order_status = 'completed'
    group by customer_id
),

final as (
    select
        ---------- keys
        customers.customer_id,

        ---------- text
        customers.customer_name,
        customers.customer_email,
        case
            when coalesce(completed_order_summary.count_lifetime_orders, 0) > 1 then 'returning'
            else 'new'
        end as customer_type,

        ---------- numerics
        cast(coalesce(completed_order_summary.count_lifetime_orders, 0) as bigint) as count_lifetime_orders,
        cast(coalesce(completed_order_summary.lifetime_spend_pretax, 0) as decimal(18, 2)) as lifetime_spend_pretax,
        cast(coalesce(completed_order_summary.lifetime_tax_paid, 0) as decimal(18, 2)) as lifetime_tax_paid,
        cast(coalesce(completed_order_summary.lifetime_spend, 0) as decimal(18, 2)) as lifetime_spend,

        ---------- timestamps
        completed_order_summary.first_ordered_at,
        completed_order_summary.last_ordered_at,
        customers.updated_at
    from customers
    left join completed_order_summary on customers.customer_id = completed_order_summary.customer_id
)

select * from final
