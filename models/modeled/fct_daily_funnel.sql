{#- Per day (of session start, UTC), how many sessions reached each funnel step. Every session
    an incremental run rebuilds starts on or after strata_session_days_rebuilt_from() (a valid
    session lasts at most session_max_minutes): the run recomputes those days and deletes a day
    left without sessions (its only session was merged into the day before). -#}
{{
    merge_config(
        'session_date', 'session_date', 'session_days_rebuilt_from',
        delete_unmatched_when="DBT_INTERNAL_DEST.session_date >= {session_days_rebuilt_from}",
    )
}}

with

sessions as (
    select * from {{ ref('fct_sessions') }}
    {%- if is_incremental() %}
    where session_date >= {{ strata_bound('session_days_rebuilt_from') }}
    {%- endif %}
),

daily as (
    select
        session_date,
        count(*) as count_sessions,
        sum(case when has_viewed_product then 1 else 0 end) as count_product_view_sessions,
        sum(case when has_added_to_cart then 1 else 0 end) as count_add_to_cart_sessions,
        sum(case when has_started_checkout then 1 else 0 end) as count_checkout_sessions,
        sum(case when is_converted then 1 else 0 end) as count_order_sessions
    from sessions
    group by session_date
),

final as (
    select
        ---------- keys
        session_date,

        ---------- numerics
        cast(count_sessions as bigint) as count_sessions,
        cast(count_product_view_sessions as bigint) as count_product_view_sessions,
        cast(count_add_to_cart_sessions as bigint) as count_add_to_cart_sessions,
        cast(count_checkout_sessions as bigint) as count_checkout_sessions,
        cast(count_order_sessions as bigint) as count_order_sessions,
        cast(1.0 * count_product_view_sessions / count_sessions as decimal(9, 4)) as product_view_rate,
        cast(1.0 * count_add_to_cart_sessions / count_sessions as decimal(9, 4)) as add_to_cart_rate,
        cast(1.0 * count_checkout_sessions / count_sessions as decimal(9, 4)) as checkout_rate,
        cast(1.0 * count_order_sessions / count_sessions as decimal(9, 4)) as order_conversion_rate
    from daily
)

select * from final
{{ strata_stored_order('session_date') }}
