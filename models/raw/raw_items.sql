{{
    config(
        incremental_strategy='delete+insert',
        unique_key='_batch_date',
        on_schema_change='append_new_columns',
    )
}}

{{ read_landing(source('landing', 'items')) }}
