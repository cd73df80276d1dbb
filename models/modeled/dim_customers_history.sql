{#- Customer profiles as a type 2 slowly changing dimension: one row per delivered version
    (updated_at) of a profile, valid from its updated_at until the next version's. Between
    copies of one version the first delivery wins, as in cnf_customers. Built from every valid
    delivery rather than as a dbt snapshot, so a full refresh rebuilds the same history and
    versions delivered out of order still land in their place. An incremental run rebuilds the
    whole history of each customer with a profile in the window (versions are only ever added,
    so no stored version can disappear). -#}
{{ merge_config('customer_history_id') }}

with

deliveries as (
    select * from {{ ref('cnf_customers__checked') }}
    where reject_reason is null
        and {{ strata_if_incremental(
            "customer_id in (select customer_id from " ~ ref('cnf_customers__checked')
            ~ " where reject_reason is null and " ~ strata_in_window('source_batch_date') ~ ")"
        ) }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by customer_id, updated_at
            order by source_batch_date asc, row_hash desc
        ) as delivery_rank
    from deliveries
),

versions as (
    select
        customer_id,
        customer_name,
        customer_email,
        updated_at as valid_from,
        lead(updated_at) over (partition by customer_id order by updated_at) as valid_to
    from ranked
    where delivery_rank = 1
),

final as (
    select
        ---------- keys
        {{ surrogate_key(['customer_id', 'valid_from']) }} as customer_history_id,
        customer_id,

        ---------- text
        customer_name,
        customer_email,

        ---------- booleans
        valid_to is null as is_current,

        ---------- timestamps
        valid_from,
        valid_to
    from versions
)

select * from final
