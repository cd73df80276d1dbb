{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['source_batch_date', 'reject_id'],
        on_schema_change='fail',
        incremental_predicates=["DBT_INTERNAL_DEST.source_batch_date >= cast('" ~ strata_window_start() ~ "' as date)"],
    )
}}

{{ rejects_from(ref('cnf_order_items__checked'), 'order_item_id') }}
