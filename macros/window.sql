{#- The run's half-open UTC window [window_start, window_end), from vars that the orchestrator
    sets per partition. Checked here as well as in Python, because these strings are spliced
    into SQL and a plain `dbt build --vars` bypasses the orchestrator. -#}
{% macro strata_window_start() -%}
    {{- return(strata_checked_date(var('window_start'), 'window_start')) -}}
{%- endmacro %}

{% macro strata_window_end() -%}
    {{- return(strata_checked_date(var('window_end'), 'window_end')) -}}
{%- endmacro %}

{% macro strata_checked_date(value, name) -%}
    {%- set text = value | string -%}
    {%- if not modules.re.fullmatch('\d{4}-\d{2}-\d{2}', text) -%}
        {{- exceptions.raise_compiler_error("var " ~ name ~ " must be a date YYYY-MM-DD, got " ~ text) -}}
    {%- endif -%}
    {{- return(text) -}}
{%- endmacro %}
