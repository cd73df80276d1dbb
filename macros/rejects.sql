{#- The quarantine of a conformed entity: every row its checked model failed, with the reason.
    One row per delivered row; exact repeats of a bad row are numbered, not merged, so the
    reconciliation against raw can count them.
    `recheck` (see strata_recheck_branch) names a reason that a later delivery can resolve: the
    rows quarantined for it are checked again when the awaited rows arrive, and leave the
    quarantine (MERGE ... DELETE) once they pass. `reference=true` rebuilds the quarantine of a
    reference entity whole, like the entity itself: its raw rows are read through the window's
    end, not only the window's. -#}
{% macro rejects_from(checked_model, key_column, recheck=none, reference=false) -%}
{%- if reference -%}
{{ config(materialized='table') }}
{%- else -%}
{#- A quarantine grows with every batch: merged per window, keyed by batch date first so the
    merge only touches the window's batches (and the rows awaiting a recheck). -#}
{{
    merge_config(
        ['source_batch_date', 'reject_id'], 'source_batch_date', 'window_start',
        delete_when='DBT_INTERNAL_SOURCE.reject_reason is null',
        also_match=("DBT_INTERNAL_DEST.reject_reason = '" ~ recheck.reason ~ "'") if recheck else none,
    )
}}
{%- endif %}
with

checked as (
    select * from {{ checked_model }}
    where reject_reason is not null
        and {{ strata_in_window('source_batch_date') }}
    {%- if recheck and is_incremental() %}
    {%- set recheck = dict(recheck) %}
    {%- do recheck.update({'waiting_in': this}) %}
    union all
    {#- Passing rows come along only to delete their quarantined copy. #}
    select * from {{ checked_model }}
    where (reject_reason is null or reject_reason = '{{ recheck.reason }}')
        and not ({{ strata_in_window('source_batch_date') }})
        and {{ strata_recheck_branch(recheck) }}
    {%- endif %}
),

rejected as (
    select
        reject_reason,
        {{ key_column }},
        {%- if recheck %}
        {{ recheck.column }},
        {%- endif %}
        delivered_record,
        source_batch_date,
        source_file,
        row_hash,
        row_number() over (
            partition by source_file, row_hash
            order by reject_reason
        ) as occurrence_number
    from checked
),

final as (
    select
        {{ surrogate_key(['source_file', 'row_hash', 'occurrence_number']) }} as reject_id,
        reject_reason,
        {{ key_column }},
        {%- if recheck %}
        {{ recheck.column }},
        {%- endif %}
        delivered_record,
        source_batch_date,
        source_file
    from rejected
)

select * from final
{{ strata_stored_order('source_batch_date') }}
{%- endmacro %}


{#- The conformed rows of an entity: valid rows only, the latest version per key (the first
    delivery of it when it arrived more than once).
    An incremental run ranks only the rows its window delivered (business_date_column, when
    given, drops rows later than the lookback) and, with `recheck`, the rows of other batches
    that this window resolved; strata_newer_version() then lets the merge
    replace a stored row only with a newer version, so runs in any order end where a full
    refresh does. -#}
{% macro latest_valid_versions(
    checked_model, key_column, columns, version_column, business_date_column=none, recheck=none
) -%}
with

checked as (
    select * from {{ checked_model }}
    where reject_reason is null
        and {{ strata_in_window('source_batch_date', business_date_column) }}
    {%- if recheck and is_incremental() %}
    {#- A branch of its own rather than an OR: the window's filter then still reaches the raw
        scan (row groups of other batches skipped), and the recheck's its own. #}
    union all
    select * from {{ checked_model }}
    where reject_reason is null
        and not ({{ strata_in_window('source_batch_date') }})
        and {{ strata_recheck_branch(recheck) }}
    {%- endif %}
),

ranked as (
    select
        *,
        row_number() over (
            partition by {{ key_column }}
            order by {{ version_column }} desc, source_batch_date asc, row_hash desc
        ) as version_rank
    from checked
),

final as (
    select
        {%- for column in columns %}
        {{ column }},
        {%- endfor %}
        source_batch_date,
        row_hash
    from ranked
    where version_rank = 1
)

select * from final
{%- if business_date_column %}
{{ strata_stored_order(business_date_column) }}
{%- endif %}
{%- endmacro %}


{#- Merge guard: the incoming version is newer than the stored one, by the same order that
    latest_valid_versions ranks with: the later version; between equal versions the first
    delivery (earliest batch), so a redelivery, however late, never moves a row; then the
    fingerprint, only to make the order total. -#}
{% macro strata_newer_version(version_column) -%}
    {%- set new = 'DBT_INTERNAL_SOURCE.' -%}
    {%- set old = 'DBT_INTERNAL_DEST.' -%}
    {{- return(
        '(' ~ new ~ version_column ~ ' > ' ~ old ~ version_column
        ~ ' or (' ~ new ~ version_column ~ ' = ' ~ old ~ version_column
        ~ ' and (' ~ new ~ 'source_batch_date < ' ~ old ~ 'source_batch_date'
        ~ ' or (' ~ new ~ 'source_batch_date = ' ~ old ~ 'source_batch_date'
        ~ ' and ' ~ new ~ 'row_hash > ' ~ old ~ 'row_hash))))'
    ) -}}
{%- endmacro %}


{#- Rows quarantined for recheck.reason wait for a row of recheck.resolved_by with the same
    recheck.column (an order item for its order). Such a row can only be merged by the run whose
    window delivers it, so that run re-reads the rows naming it, within the lookback of their own
    batch like any row. recheck is a dict: reason, column, resolved_by, business_date_column, and
    waiting_in, the stored quarantine (none when it does not exist yet).
    Only batches holding a row quarantined for the reason and naming a resolved row are re-read:
    a row of an already processed batch that failed for the reason is in the quarantine (it
    keeps recheck.column for this), any other row of such a batch passed when it was processed,
    and a batch not processed yet is checked by its own run. Without waiting_in every batch is
    re-read (the checked view over all of raw: a cost growing with the history).
    Those batches are looked up before the model's statement and written into it as dates, not
    left as a subquery: a filter of constants reaches the raw scan whatever the optimizer does
    with joins, and no batch to re-read removes the branch. As a subquery its cost rested on the
    join order DuckDB chose: 2.0.0 ran the semi-joins first, 2.0.1 joined every item of the
    history to its order before them (0.2 s -> 2.9 s at 44,000 orders a day; BENCHMARKS.md). -#}
{% macro strata_recheck_branch(recheck) -%}
    {%- set resolved -%}
        select {{ recheck.column }} from {{ recheck.resolved_by }}
        where {{ strata_in_window('source_batch_date') }}
    {%- endset -%}
    {{ recheck.business_date_column }} >= {{ dbt.dateadd('day', -strata_lookback_days(), 'source_batch_date') }}
    and {{ recheck.column }} in ({{ resolved }})
    {%- if recheck.waiting_in %}
    {%- set batches = strata_batches_awaiting(recheck, resolved) %}
    {%- if batches %}
    and source_batch_date in (
        {%- for batch in batches %}
        cast('{{ batch }}' as date){{ ',' if not loop.last else '' }}
        {%- endfor %}
    )
    {%- else %}
    and 1 = 0
    {%- endif %}
    {%- endif %}
{%- endmacro %}


{#- Dates (YYYY-MM-DD) of the batches holding a row quarantined for recheck.reason that names a
    row of `resolved` (a query of recheck.column values), oldest first. -#}
{% macro strata_batches_awaiting(recheck, resolved) -%}
    {%- if not execute -%}
        {{- return([]) -}}
    {%- endif -%}
    {%- set query -%}
        select distinct cast(waiting.source_batch_date as {{ dbt.type_string() }}) as batch_date
        from {{ recheck.waiting_in }} as waiting
        where waiting.reject_reason = '{{ recheck.reason }}'
            and waiting.{{ recheck.column }} in ({{ resolved }})
        order by batch_date
    {%- endset -%}
    {{- return(run_query(query).columns[0].values() | list) -}}
{%- endmacro %}


{#- The stored quarantine of a model, read by the entity's conformed model for its recheck
    without ref(): the quarantine's own run deletes the rows a recheck resolves, so it must run
    after the conformed model (its depends_on), and a ref() the other way would be a cycle. -#}
{% macro strata_stored_quarantine(identifier) -%}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(adapter.get_relation(database=this.database, schema=this.schema, identifier=identifier)) -}}
{%- endmacro %}
