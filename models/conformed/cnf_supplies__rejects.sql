{{ rejects_from(ref('cnf_supplies__checked'), 'product_supply_id', reference=true) }}
