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

{#- How many days after its business date (order date, event date) a row may arrive and still be
    merged by an incremental run. Rows arriving later are reported by the late-arrivals model and
    only a full refresh includes them. -#}
{% macro strata_lookback_days() -%}
    {{- return(strata_whole_number_var('lookback_days', 'days')) -}}
{%- endmacro %}

{#- A var spliced into SQL as a number: checked here, as a plain `dbt build --vars` bypasses the
    orchestrator. -#}
{% macro strata_whole_number_var(name, unit) -%}
    {%- set value = var(name) | string -%}
    {%- if not modules.re.fullmatch('\d{1,5}', value) -%}
        {{- exceptions.raise_compiler_error("var " ~ name ~ " must be a whole number of " ~ unit ~ ", got " ~ value) -}}
    {%- endif -%}
    {{- return(value | int) -}}
{%- endmacro %}

{#- The earliest business date an incremental run can touch: window_start - lookback_days. -#}
{% macro strata_lookback_start() -%}
    {%- set start = modules.datetime.date.fromisoformat(strata_window_start()) -%}
    {{- return((start - modules.datetime.timedelta(days=strata_lookback_days())).isoformat()) -}}
{%- endmacro %}

{#- Rows an incremental run merges: delivered in the window's batches, and not later than the
    lookback after their business date. A full refresh takes every row. -#}
{% macro strata_in_window(batch_date_column, business_date_column=none) -%}
    {%- if is_incremental() -%}
        {{ batch_date_column }} >= {{ strata_bound('window_start') }}
        and {{ batch_date_column }} < {{ strata_bound('window_end') }}
        {%- if business_date_column %}
        and {{ business_date_column }} >= {{ dbt.dateadd('day', -strata_lookback_days(), batch_date_column) }}
        {%- endif %}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- Rows of a modeled model that an incremental run rebuilds: every row whose business date is
    on or after window_start - lookback_days. Whatever a run merges into conformed orders, items
    and events carries such a date (the lookback rule), so every fact derived from them lies in
    this range; rebuilding all of it, rather than only the changed keys, keeps derived figures
    (a customer's order number, a day's totals) exact with no change tracking. A full refresh
    rebuilds everything. -#}
{% macro strata_rebuilt(business_date_column) -%}
    {%- if is_incremental() -%}
        {{ business_date_column }} >= {{ strata_bound('lookback_start') }}
    {%- else -%}
        true
    {%- endif -%}
{%- endmacro %}

{#- A filter that applies to incremental runs only (a full refresh reads everything, or, with
    otherwise='false', nothing). -#}
{% macro strata_if_incremental(condition, otherwise='true') -%}
    {{- return(condition if is_incremental() else otherwise) -}}
{%- endmacro %}

{#- The run's bounds by name, as SQL literals of their type: what model bodies compare with, and
    what fills in the settings dbt stores when it parses the project (a merged model's
    incremental_predicates and merge conditions, its tests' scope). Those settings name a bound
    as {name} and strata_fill_bounds() writes the literal in when the
    model or test runs, so the stored settings are the same for every window and a run of a new
    window keeps dbt's saved parse (orchestration/dbt_entry.py). A date from a var spliced into a
    setting at parse time would instead be the date of whatever window dbt last parsed.
    Only the bounds a text names are computed: every test of a windowed run fills one. -#}
{% macro strata_bound(name) -%}
    {%- if name == 'window_start' -%}
        {{- return("cast('" ~ strata_window_start() ~ "' as date)") -}}
    {%- elif name == 'window_end' -%}
        {{- return("cast('" ~ strata_window_end() ~ "' as date)") -}}
    {%- elif name == 'lookback_start' -%}
        {{- return("cast('" ~ strata_lookback_start() ~ "' as date)") -}}
    {%- elif name == 'session_rebuild_start' -%}
        {{- return("cast('" ~ strata_session_rebuild_start() ~ "' as timestamp)") -}}
    {%- elif name == 'session_days_rebuilt_from' -%}
        {{- return("cast('" ~ strata_session_days_rebuilt_from() ~ "' as date)") -}}
    {%- endif -%}
    {{- return(strata_bound_placeholder(name)) -}}  {#- fails: the name is unknown -#}
{%- endmacro %}

{% macro strata_bound_names() -%}
    {{- return(['window_start', 'window_end', 'lookback_start', 'session_rebuild_start', 'session_days_rebuilt_from']) -}}
{%- endmacro %}

{#- The placeholder a stored setting writes for a bound; an unknown name fails the parse. -#}
{% macro strata_bound_placeholder(name) -%}
    {%- if name not in strata_bound_names() -%}
        {{- exceptions.raise_compiler_error("unknown window bound '" ~ name ~ "'; known: " ~ strata_bound_names() | join(', ')) -}}
    {%- endif -%}
    {{- return('{' ~ name ~ '}') -}}
{%- endmacro %}

{% macro strata_fill_bounds(text) -%}
    {%- if text is none or '{' not in text -%}
        {{- return(text) -}}
    {%- endif -%}
    {%- set filled = namespace(text=text) -%}
    {%- for name in strata_bound_names() -%}
        {%- set placeholder = '{' ~ name ~ '}' -%}
        {%- if placeholder in filled.text -%}
            {%- set filled.text = filled.text | replace(placeholder, strata_bound(name)) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(filled.text) -}}
{%- endmacro %}
