-- catalog: orders=order_id
SELECT orders.order_id, orders.status FROM public.orders WHERE orders.status <> '$ivm$'