{#- A redelivered event repeats its event_id; the copy collected last wins. -#}
{{
    latest_valid_versions(
        checked_model=ref('cnf_events__checked'),
        key_column='event_id',
        columns=[
            'event_id', 'anonymous_id', 'customer_id', 'product_id', 'order_id',
            'event_type', 'page_path', 'occurred_at', 'collected_at',
            'cast(occurred_at as date) as event_date',
        ],
        version_order='collected_at desc',
    )
}}
