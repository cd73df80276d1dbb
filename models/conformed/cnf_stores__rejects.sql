{{ rejects_from(ref('cnf_stores__checked'), 'store_id', reference=true) }}
