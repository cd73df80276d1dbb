{#-
    dbt-duckdb's catalog has column types but no table statistics, so the docs site would show
    no row counts. These two overrides of dbt-duckdb's catalog macros (same names, found first
    because root-project macros take precedence over an adapter's) add each table's size as the
    `row_count` statistic, which the docs page lists in a model's details. The size comes from
    the row ledger the build keeps (macros/row_totals.sql), which is exact; DuckDB's stored
    estimate (duckdb_tables().estimated_size) still counts deleted rows until a vacuum, and is
    used only for a table the ledger does not know.
    Used only by `dbt docs generate` (`strata docs`); builds never call them.
-#}

{% macro duckdb__get_catalog_tables_sql(information_schema) -%}
    {%- set ledger = strata_row_ledger() -%}
    {%- set has_ledger = adapter.get_relation(ledger.database, ledger.schema, ledger.identifier) is not none -%}
    select *
    from (
        select
            t.database_name as table_database,
            t.schema_name as table_schema,
            t.table_name as table_name,
            'BASE TABLE' as table_type,
            t.comment as table_comment,
            {%- if has_ledger %}
            coalesce(ledger.rows_total, t.estimated_size) as row_count
        from duckdb_tables() t
        left join {{ ledger }} ledger
            on ledger.schema_name = t.schema_name and ledger.table_name = t.table_name
            {%- else %}
            t.estimated_size as row_count
        from duckdb_tables() t
            {%- endif %}
        where upper(t.database_name) = upper('{{ information_schema.database }}')

        union all

        select
            v.database_name as table_database,
            v.schema_name as table_schema,
            v.view_name as table_name,
            'VIEW' as table_type,
            v.comment as table_comment,
            null as row_count
        from duckdb_views() v
        where upper(v.database_name) = upper('{{ information_schema.database }}')
    ) catalog_tables
{%- endmacro %}


{% macro duckdb__get_catalog_results_sql() -%}
    select
        tables.table_database,
        tables.table_schema,
        tables.table_name,
        tables.table_type,
        tables.table_comment,
        columns.column_name,
        columns.column_index,
        columns.column_type,
        columns.column_comment,
        null as table_owner,
        'Row count' as "stats:row_count:label",
        tables.row_count as "stats:row_count:value",
        'Rows in the table when the docs site was built (from the build''s row ledger)'
            as "stats:row_count:description",
        tables.row_count is not null as "stats:row_count:include"
    from tables
    join columns using (table_database, table_schema, table_name)
    order by table_schema, table_name, column_index
{%- endmacro %}
