{#- Valid rows that arrived more than lookback_days after their business date and whose content
    the conformed table does not hold: incremental runs leave such rows out (a full refresh
    includes them, and then they drop off this ledger); a late redelivery of what is already
    kept changes nothing and is not listed. A warning test fires for the rows of the current
    window.
    Whether content is kept depends on what ran before: run in reverse order, a late redelivery
    is listed before the batch holding its original runs. So the run that merges the original
    also deletes the listing, in the same transaction (a post-hook runs before the commit). -#}
{{ merge_config(['source_batch_date', 'late_arrival_id'], 'source_batch_date', 'window_start') }}
{{ config(post_hook="{{ strata_delist_kept_late_arrivals() }}") }}

with

orders as (
    select * from {{ ref('cnf_orders__checked') }}
),

order_items as (
    select * from {{ ref('cnf_order_items__checked') }}
),

events as (
    select * from {{ ref('cnf_events__checked') }}
),

arrivals as (
    select
        'orders' as entity,
        order_id as record_id,
        order_date as business_date,
        source_batch_date,
        source_file,
        row_hash
    from orders
    where reject_reason is null and {{ strata_in_window('source_batch_date') }}
    union all
    select
        'order_items' as entity,
        order_item_id as record_id,
        order_date as business_date,
        source_batch_date,
        source_file,
        row_hash
    from order_items
    where reject_reason is null and {{ strata_in_window('source_batch_date') }}
    union all
    select
        'events' as entity,
        event_id as record_id,
        event_date as business_date,
        source_batch_date,
        source_file,
        row_hash
    from events
    where reject_reason is null and {{ strata_in_window('source_batch_date') }}
),

{# Rows delivered more than the lookback after their business date. #}
late_candidates as (
    select distinct
        entity,
        record_id,
        business_date,
        source_batch_date,
        source_file,
        row_hash
    from arrivals
    where business_date < {{ dbt.dateadd('day', -strata_lookback_days(), 'source_batch_date') }}
),

{# The stored rows such a row could equal: the same content has the same business date (the
    fingerprint covers ordered_at and occurred_at; an item takes its order's date), so only the
    candidates' dates are read, and a table stored in business-date order skips the others
    (see strata_stored_order). Comparing with whole conformed tables cost a scan of each per run. #}
kept_versions as (
    select
        'orders' as entity,
        order_id as record_id,
        order_date as business_date,
        row_hash
    from {{ ref('cnf_orders') }}
    where
        order_date in (
            select late_candidates.business_date from late_candidates
            where late_candidates.entity = 'orders'
        )
    union all
    select
        'order_items' as entity,
        order_item_id as record_id,
        order_date as business_date,
        row_hash
    from {{ ref('cnf_order_items') }}
    where
        order_date in (
            select late_candidates.business_date from late_candidates
            where late_candidates.entity = 'order_items'
        )
    union all
    select
        'events' as entity,
        event_id as record_id,
        event_date as business_date,
        row_hash
    from {{ ref('cnf_events') }}
    where
        event_date in (
            select late_candidates.business_date from late_candidates
            where late_candidates.entity = 'events'
        )
),

late_arrivals as (
    select *
    from late_candidates
    where
        not exists (
            select 1
            from kept_versions
            where
                kept_versions.entity = late_candidates.entity
                and kept_versions.record_id = late_candidates.record_id
                and kept_versions.business_date = late_candidates.business_date
                and kept_versions.row_hash = late_candidates.row_hash
        )
),

final as (
    select
        {{ surrogate_key(['entity', 'record_id', 'source_file', 'row_hash']) }} as late_arrival_id,
        entity,
        record_id,
        business_date,
        source_batch_date,
        cast(
            {{ dbt.datediff('business_date', 'source_batch_date', 'day') }} as integer  -- noqa: LT05
        ) as count_days_late,
        source_file,
        row_hash
    from late_arrivals
)

select * from final
{{ strata_stored_order('source_batch_date') }}
