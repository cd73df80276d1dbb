{#- Customers take updates at any time, so there is no lookback cut-off; the table is small
    enough that the merge needs no predicate on the target. -#}
{{ merge_config('customer_id', version_column='updated_at') }}

{{
    latest_valid_versions(
        checked_model=ref('cnf_customers__checked'),
        key_column='customer_id',
        columns=['customer_id', 'customer_name', 'customer_email', 'updated_at'],
        version_column='updated_at',
    )
}}
