{{ rejects_from(ref('cnf_products__checked'), 'product_id', reference=true) }}
