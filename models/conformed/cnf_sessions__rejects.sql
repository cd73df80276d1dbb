{{ config(materialized='view', contract={'enforced': false}) }}

{#- The session quarantine: sessions longer than session_max_minutes. They stay whole in
    cnf_sessions (a session is rebuilt from its events, so splitting it would only create
    duplicates that the next rebuild disagrees with) and are listed here. -#}
select
    session_id,
    reject_reason,
    anonymous_id,
    duration_seconds,
    count_events,
    session_started_at,
    session_ended_at
from {{ ref('cnf_sessions') }}
where reject_reason is not null
