{#- Reference-like and small: rebuilt whole every run, the latest delivered batch wins. #}
{{
    latest_valid_versions(
        checked_model=ref('cnf_supplies__checked'),
        key_column='product_supply_id',
        columns=[
            'product_supply_id', 'supply_id', 'product_id', 'supply_name',
            cents_to_currency('cost_cents') ~ ' as supply_cost',
            'is_perishable',
        ],
        version_column='source_batch_date',
    )
}}
