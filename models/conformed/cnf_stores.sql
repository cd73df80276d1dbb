{#- Reference-like and small: rebuilt whole every run, the latest delivered batch wins. #}
{{
    latest_valid_versions(
        checked_model=ref('cnf_stores__checked'),
        key_column='store_id',
        columns=['store_id', 'store_name', 'tax_rate', 'opened_at'],
        version_column='source_batch_date',
    )
}}
