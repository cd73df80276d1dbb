{#- An item can arrive before its order (a redelivery processed before the batch holding the
    order): it waits here as unknown_order until the run that merges the order. That run's
    cnf_order_items reads this quarantine before this model's merge deletes what it resolved. -#}
-- depends_on: {{ ref('cnf_order_items') }}
{{
    rejects_from(
        ref('cnf_order_items__checked'),
        'order_item_id',
        recheck={
            'reason': 'unknown_order',
            'column': 'order_id',
            'business_date_column': 'order_date',
            'resolved_by': ref('cnf_orders'),
        },
    )
}}
