{#- An item's business date is its order's date; items never change after delivery. -#}
{{ merge_config(['order_date', 'order_item_id'], 'order_date', strata_lookback_start(), 'source_batch_date') }}

{{
    latest_valid_versions(
        checked_model=ref('cnf_order_items__checked'),
        key_column='order_item_id',
        columns=['order_item_id', 'order_id', 'product_id', 'order_date'],
        version_column='source_batch_date',
        business_date_column='order_date',
    )
}}
