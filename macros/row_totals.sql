{#- The size of each table after its run, without counting it. A table's size is kept in a small
    ledger in the warehouse: a run that creates the table sets it to the rows it inserted, a later
    run adds what its statements inserted and subtracts what they deleted (the counts DuckDB
    reported for those statements: orchestration/dbt_row_counts.py). The ledger is written by a
    post-hook inside the model's transaction, so a failed or killed run rolls it back with the
    model and the ledger stays exact. The total goes into the node's adapter_response
    (rows_total). A table the ledger has never seen (built before the ledger existed) has no
    total until its next full refresh: null rather than a count(*) over the table.
    DuckDB's catalog estimate (duckdb_tables().estimated_size) cannot replace the ledger: it
    still counts deleted rows until the table is vacuumed. -#}

{% macro strata_row_ledger() -%}
    {{- return(api.Relation.create(database=target.database, schema='strata_meta', identifier='row_totals')) -}}
{%- endmacro %}


{% macro strata_create_row_ledger() -%}
    {%- if execute and var('record_row_totals', true) -%}
        {%- set ledger = strata_row_ledger() -%}
        {% do run_query('create schema if not exists ' ~ ledger.include(identifier=false)) %}
        {% do run_query(
            'create table if not exists ' ~ ledger ~ ' ('
            ~ 'schema_name varchar not null, table_name varchar not null, rows_total bigint not null, '
            ~ 'updated_at timestamp not null, primary key (schema_name, table_name))'
        ) %}
    {%- endif -%}
{%- endmacro %}


{% macro strata_row_ledger_entry(relation) -%}
    {{- return("schema_name = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'") -}}
{%- endmacro %}


{% macro strata_set_row_total(relation, total) -%}
    {%- set ledger = strata_row_ledger() -%}
    {{ strata_forget_row_total(relation) }}
    {% do run_query(
        "insert into " ~ ledger ~ " values ('" ~ relation.schema ~ "', '" ~ relation.identifier ~ "', "
        ~ total ~ ", current_timestamp)"
    ) %}
{%- endmacro %}


{% macro strata_add_to_row_total(relation, inserted, deleted) -%}
    {%- set totals = run_query(
        "update " ~ strata_row_ledger() ~ " set rows_total = rows_total + " ~ inserted ~ " - " ~ deleted
        ~ ", updated_at = current_timestamp"
        ~ " where " ~ strata_row_ledger_entry(relation)
        ~ " returning rows_total"
    ) -%}
    {{- return(totals.columns[0].values()[0] if totals.rows | length == 1 else none) -}}
{%- endmacro %}


{% macro strata_forget_row_total(relation) -%}
    {% do run_query("delete from " ~ strata_row_ledger() ~ " where " ~ strata_row_ledger_entry(relation)) %}
{%- endmacro %}


{% macro strata_record_row_total() -%}
    {%- if execute and var('record_row_totals', true) -%}
        {%- set main = load_result('main') -%}
        {%- set response = main.response if main else none -%}
        {%- if config.get('materialized') in ('view', 'ephemeral') -%}
            {#- A view holds no rows of its own. -#}
        {%- elif response is none or response.rows_affected is none
            or (response.record_total is defined and response.rows_inserted is none) -%}
            {#- The table changed by an amount nobody reported (no count, or a MERGE's total
                without its split): a stale total would pass for an exact one, so the table
                has none until a run that creates it again. -#}
            {{ strata_forget_row_total(this) }}
        {%- elif model.resource_type == 'seed' -%}
            {#- dbt loads a seed into a new or emptied table and reports the rows it loaded. -#}
            {{ strata_set_row_total(this, response.rows_affected) }}
        {%- elif response.record_total is defined -%}
            {#- A CREATE among the statements: the table was built anew (a first run, a table
                model, a full refresh), so its size is what was inserted. -#}
            {%- if 'CREATE' in response.code.split('+') -%}
                {{ strata_set_row_total(this, response.rows_inserted) }}
                {% do response.record_total(response.rows_inserted) %}
            {%- else -%}
                {% do response.record_total(strata_add_to_row_total(this, response.rows_inserted, response.rows_deleted)) %}
            {%- endif -%}
        {%- else -%}
            {#- A response from outside the row-count plugin: its counts cannot be split. -#}
            {{ strata_forget_row_total(this) }}
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
