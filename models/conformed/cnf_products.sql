{#- Reference-like and small: rebuilt whole every run, the latest delivered batch wins. #}
{{
    latest_valid_versions(
        checked_model=ref('cnf_products__checked'),
        key_column='product_id',
        columns=[
            'product_id', 'product_name', 'product_type', 'product_description',
            cents_to_currency('price_cents') ~ ' as product_price',
        ],
        version_column='source_batch_date',
    )
}}
