{{ rejects_from(ref('cnf_events__checked'), 'event_id') }}
