{#- Sessionization rules shared by cnf_sessions and the models built on it.

    Which sessions an incremental run rebuilds ("open session" method): the run merges events
    dated on or after the lookback start L (the lookback rule), so a stored session can change
    only if it could still take such an event: it ends at or after
    C = L - session_timeout_minutes. For each visitor with events in the window, the run
    re-sessionizes that visitor's events from the start of the earliest such session (or from C
    when there is none); every session before that point is final. -#}

{% macro strata_session_timeout_minutes() -%}
    {{- return(strata_whole_number_var('session_timeout_minutes', 'minutes')) -}}
{%- endmacro %}

{% macro strata_session_max_minutes() -%}
    {{- return(strata_whole_number_var('session_max_minutes', 'minutes')) -}}
{%- endmacro %}

{#- C above, as a timestamp literal's text. -#}
{% macro strata_session_rebuild_start() -%}
    {%- set lookback_start = modules.datetime.datetime.fromisoformat(strata_lookback_start()) -%}
    {%- set rebuild_start = lookback_start - modules.datetime.timedelta(minutes=strata_session_timeout_minutes()) -%}
    {{- return(rebuild_start.strftime('%Y-%m-%d %H:%M:%S')) -}}
{%- endmacro %}

{#- The first session day an incremental run can change. A valid session lasts at most
    session_max_minutes, so every session the run rebuilds starts on or after the day of
    C - session_max_minutes. -#}
{% macro strata_session_days_rebuilt_from() -%}
    {%- set rebuild_start = modules.datetime.datetime.fromisoformat(strata_session_rebuild_start()) -%}
    {{- return((rebuild_start - modules.datetime.timedelta(minutes=strata_session_max_minutes())).date().isoformat()) -}}
{%- endmacro %}

{#- Visitors whose sessions an incremental run rebuilds: those with events the window delivered. -#}
{% macro strata_session_visitors() -%}
    select distinct anonymous_id
    from {{ ref('cnf_events') }}
    where {{ strata_in_window('source_batch_date') }}
{%- endmacro %}

{#- Merge settings of a session-grained model: stored sessions of the rebuilt visitors that end
    at or after C are replaced by what the rebuild produces, and deleted when it no longer
    produces them.
    The merge's conditions are fixed when dbt parses the project, before ref() and
    is_incremental() mean anything, so the rebuilt visitors are listed by a pre-hook (rendered at
    run time, on the connection that then runs the MERGE) into a temporary table the condition
    can name. -#}
{% macro strata_session_merge_config() -%}
    {%- set visitors_table = this.identifier ~ '__rebuilt_visitors' -%}
    {{
        merge_config(
            'session_id', 'session_ended_at', 'session_rebuild_start',
            delete_unmatched_when=(
                "DBT_INTERNAL_DEST.session_ended_at >= {session_rebuild_start}"
                ~ " and DBT_INTERNAL_DEST.anonymous_id in (select anonymous_id from " ~ visitors_table ~ ")"
            ),
        )
    }}
    {{ config(pre_hook="{{ strata_list_rebuilt_visitors('" ~ visitors_table ~ "') }}") }}
{%- endmacro %}

{% macro strata_list_rebuilt_visitors(visitors_table) -%}
    create or replace temporary table {{ visitors_table }} as
    {{ strata_session_visitors() }}
{%- endmacro %}
