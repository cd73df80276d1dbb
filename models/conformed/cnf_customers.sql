{#- A profile without updated_at (jafgen delivers none) counts as written on its batch date. -#}
{{
    latest_valid_versions(
        checked_model=ref('cnf_customers__checked'),
        key_column='customer_id',
        columns=[
            'customer_id', 'customer_name', 'customer_email',
            'coalesce(updated_at, cast(source_batch_date as timestamp)) as updated_at',
        ],
        version_order='coalesce(updated_at, cast(source_batch_date as timestamp)) desc',
    )
}}
