{{
    latest_valid_versions(
        checked_model=ref('cnf_products__checked'),
        key_column='product_id',
        columns=[
            'product_id', 'product_name', 'product_type', 'product_description',
            cents_to_currency('price_cents') ~ ' as product_price',
        ],
        version_order='source_batch_date desc',
    )
}}
