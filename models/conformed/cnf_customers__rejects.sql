{{ rejects_from(ref('cnf_customers__checked'), 'customer_id') }}
