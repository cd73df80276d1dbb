{#- A redelivered event repeats its event_id; the copy collected last wins. -#}
{{ merge_config(['event_date', 'event_id'], 'event_date', 'lookback_start', 'collected_at') }}

{{
    latest_valid_versions(
        checked_model=ref('cnf_events__checked'),
        key_column='event_id',
        columns=[
            'event_id', 'anonymous_id', 'customer_id', 'product_id', 'order_id',
            'event_type', 'page_path', 'occurred_at', 'collected_at', 'event_date',
        ],
        version_column='collected_at',
        business_date_column='event_date',
    )
}}
