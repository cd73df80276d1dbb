{#- An item's business date is its order's date; items never change after delivery. Items that
    waited in the quarantine for their order (unknown_order) join in the run that merges it. -#}
{{ merge_config(['order_date', 'order_item_id'], 'order_date', 'lookback_start', 'source_batch_date') }}

{{
    latest_valid_versions(
        checked_model=ref('cnf_order_items__checked'),
        key_column='order_item_id',
        columns=['order_item_id', 'order_id', 'product_id', 'order_date'],
        version_column='source_batch_date',
        business_date_column='order_date',
        recheck={
            'reason': 'unknown_order',
            'column': 'order_id',
            'business_date_column': 'order_date',
            'resolved_by': ref('cnf_orders'),
            'waiting_in': strata_stored_quarantine('cnf_order_items__rejects'),
        },
    )
}}
