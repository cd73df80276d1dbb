{{ rejects_from(ref('cnf_order_items__checked'), 'order_item_id') }}
