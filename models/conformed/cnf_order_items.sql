{#- An item's business date is its order's date; items never change after delivery. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='merge',
        unique_key=['order_date', 'order_item_id'],
        on_schema_change='fail',
        incremental_predicates=["DBT_INTERNAL_DEST.order_date >= cast('" ~ strata_lookback_start() ~ "' as date)"],
        merge_update_condition=strata_newer_version('source_batch_date'),
    )
}}

{{
    latest_valid_versions(
        checked_model=ref('cnf_order_items__checked'),
        key_column='order_item_id',
        columns=['order_item_id', 'order_id', 'product_id', 'order_date'],
        version_column='source_batch_date',
        business_date_column='order_date',
    )
}}
