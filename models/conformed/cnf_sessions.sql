{#- Every visit: a visitor's events with no gap longer than session_timeout_minutes between
    them. Sessions longer than session_max_minutes keep their row here with reject_reason
    over_max_length (the quarantine) and stay out of fct_sessions. An incremental run rebuilds
    only the sessions that may still change (see macros/sessions.sql). -#}
{{ strata_session_merge_config() }}

with

{%- if is_incremental() %}

visitors as (
    {{ strata_session_visitors() }}
),

{#- Per rebuilt visitor, where re-sessionizing starts: the start of the earliest stored session
    still open to new events, or C when that is earlier (a late event can precede every stored
    session; none precedes C). -#}
rebuild_starts as (
    select
        visitors.anonymous_id,
        least(
            coalesce(min(stored.session_started_at), {{ strata_bound('session_rebuild_start') }}),
            {{ strata_bound('session_rebuild_start') }}
        ) as rebuild_from
    from visitors
    left join {{ this }} as stored
        on visitors.anonymous_id = stored.anonymous_id
        and stored.session_ended_at >= {{ strata_bound('session_rebuild_start') }}
    group by visitors.anonymous_id
),
{%- endif %}

events as (
    select events.*
    from {{ ref('cnf_events') }} as events
    {%- if is_incremental() %}
    inner join rebuild_starts
        on events.anonymous_id = rebuild_starts.anonymous_id
        and events.occurred_at >= rebuild_starts.rebuild_from
    where events.event_date >= (select cast(min(rebuild_from) as date) from rebuild_starts)
    {%- endif %}
),

gaps as (
    select
        *,
        case
            when lag(occurred_at) over (partition by anonymous_id order by occurred_at, event_id) is null
                then 1
            when {{ dbt.datediff(
                    'lag(occurred_at) over (partition by anonymous_id order by occurred_at, event_id)',
                    'occurred_at', 'second') }} > {{ strata_session_timeout_minutes() * 60 }}
                then 1
            else 0
        end as is_session_start
    from events
),

numbered as (
    select
        *,
        sum(is_session_start) over (
            partition by anonymous_id
            order by occurred_at, event_id
            rows between unbounded preceding and current row
        ) as session_number
    from gaps
),

ordered as (
    select
        *,
        row_number() over (
            partition by anonymous_id, session_number
            order by occurred_at, event_id
        ) as event_number,
        row_number() over (
            partition by anonymous_id, session_number, customer_id is null
            order by occurred_at, event_id
        ) as known_customer_number
    from numbered
),

sessions as (
    select
        anonymous_id,
        session_number,
        max(case when event_number = 1 then event_id end) as first_event_id,
        max(case when event_number = 1 then page_path end) as landing_page_path,
        max(case when customer_id is not null and known_customer_number = 1 then customer_id end) as customer_id,
        min(occurred_at) as session_started_at,
        max(occurred_at) as session_ended_at,
        count(*) as count_events,
        sum(case when event_type = 'page_view' then 1 else 0 end) as count_page_views,
        count(distinct case when event_type = 'product_view' then product_id end) as count_products_viewed,
        sum(case when event_type = 'add_to_cart' then 1 else 0 end) as count_add_to_carts,
        max(case when event_type = 'checkout_started' then 1 else 0 end) as has_checkout_started,
        min(case when event_type = 'order_placed' then order_id end) as order_id
    from ordered
    group by anonymous_id, session_number
),

final as (
    select
        ---------- keys
        {{ surrogate_key(['anonymous_id', 'first_event_id']) }} as session_id,
        anonymous_id,
        customer_id,
        order_id,

        ---------- text
        landing_page_path,
        case
            when {{ dbt.datediff('session_started_at', 'session_ended_at', 'second') }}
                > {{ strata_session_max_minutes() * 60 }}
                then 'over_max_length'
        end as reject_reason,

        ---------- numerics
        cast(
            {{ dbt.datediff('session_started_at', 'session_ended_at', 'second') }} as bigint  -- noqa: LT05
        ) as duration_seconds,
        cast(count_events as bigint) as count_events,
        cast(count_page_views as bigint) as count_page_views,
        cast(count_products_viewed as bigint) as count_products_viewed,
        cast(count_add_to_carts as bigint) as count_add_to_carts,

        ---------- booleans
        count_add_to_carts > 0 as has_added_to_cart,
        has_checkout_started = 1 as has_started_checkout,
        order_id is not null as is_converted,

        ---------- timestamps
        session_started_at,
        session_ended_at,
        cast(session_started_at as date) as session_date
    from sessions
)

select * from final
{{ strata_stored_order('session_ended_at') }}
