{#- Visits within the maximum session length, from cnf_sessions. Rebuilt like cnf_sessions:
    an incremental run replaces the sessions of visitors with new events that end on or after
    the session rebuild start, and deletes those the rebuild merged away. -#}
{{ strata_session_merge_config() }}

with

sessions as (
    select * from {{ ref('cnf_sessions') }}
    where reject_reason is null
        and {{ strata_if_incremental(
            "session_ended_at >= cast('" ~ strata_session_rebuild_start() ~ "' as timestamp)"
            ~ " and anonymous_id in (" ~ strata_session_visitors() ~ ")"
        ) }}
),

final as (
    select
        ---------- keys
        session_id,
        anonymous_id,
        customer_id,
        order_id,

        ---------- text
        landing_page_path,

        ---------- numerics
        duration_seconds,
        count_events,
        count_page_views,
        count_products_viewed,
        count_add_to_carts,

        ---------- booleans
        count_products_viewed > 0 as has_viewed_product,
        has_added_to_cart,
        has_started_checkout,
        is_converted,

        ---------- timestamps
        session_started_at,
        session_ended_at,
        session_date
    from sessions
)

select * from final
{{ strata_stored_order('session_ended_at') }}
