{{ rejects_from(ref('cnf_orders__checked'), 'order_id') }}
