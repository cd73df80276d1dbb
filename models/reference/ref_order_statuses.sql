with

order_statuses as (
    select * from {{ ref('order_statuses') }}
),

final as (
    select
        order_status,
        lifecycle_stage,
        lifecycle_order,
        is_terminal,
        is_revenue,
        order_status_description
    from order_statuses
)

select * from final
