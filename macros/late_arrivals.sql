{#- Post-hook of cnf_late_arrivals: drop the listings whose exact content the window's run has
    just merged into its conformed table (the original arrived within the lookback, processed
    after its late redelivery). Only rows merged by this window can newly match, so the lookup
    stays inside what the window touched. -#}
{% macro strata_delist_kept_late_arrivals() -%}
    {%- if is_incremental() -%}
        delete from {{ this }} as listed
        where exists (
            {%- for entity, model, key, business_date in [
                ('orders', 'cnf_orders', 'order_id', 'order_date'),
                ('order_items', 'cnf_order_items', 'order_item_id', 'order_date'),
                ('events', 'cnf_events', 'event_id', 'event_date'),
            ] %}
            select 1
            from {{ ref(model) }} as kept
            where listed.entity = '{{ entity }}'
                and kept.{{ key }} = listed.record_id
                and kept.row_hash = listed.row_hash
                and kept.{{ business_date }} >= {{ strata_bound('lookback_start') }}
                and {{ strata_in_window('kept.source_batch_date') }}
            {{ 'union all' if not loop.last }}
            {%- endfor %}
        )
    {%- else -%}
        select 1
    {%- endif -%}
{%- endmacro %}
