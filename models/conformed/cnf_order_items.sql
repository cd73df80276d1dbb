{{
    latest_valid_versions(
        checked_model=ref('cnf_order_items__checked'),
        key_column='order_item_id',
        columns=['order_item_id', 'order_id', 'product_id'],
        version_order='source_batch_date desc',
    )
}}
