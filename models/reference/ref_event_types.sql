with

event_types as (
    select * from {{ ref('event_types') }}
),

final as (
    select
        event_type,
        funnel_step,
        funnel_step_order,
        is_funnel_step,
        event_type_description
    from event_types
)

select * from final
