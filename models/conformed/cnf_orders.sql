{{ merge_config(['order_date', 'order_id'], 'order_date', 'lookback_start', 'updated_at') }}

{{
    latest_valid_versions(
        checked_model=ref('cnf_orders__checked'),
        key_column='order_id',
        columns=[
            'order_id', 'customer_id', 'store_id', 'order_status',
            cents_to_currency('subtotal_cents') ~ ' as subtotal',
            cents_to_currency('tax_paid_cents') ~ ' as tax_paid',
            cents_to_currency('order_total_cents') ~ ' as order_total',
            'ordered_at',
            'order_date',
            'updated_at',
        ],
        version_column='updated_at',
        business_date_column='order_date',
    )
}}
