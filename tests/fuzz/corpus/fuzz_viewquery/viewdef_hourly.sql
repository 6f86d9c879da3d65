-- catalog: orders=order_id; columns: hour,order_count,total_sales,avg_order_value,unique_customers; store=pairs
 SELECT date_trunc('hour'::text, orders.created_at) AS hour,
    count(*) AS order_count,
    sum(orders.total_amount) AS total_sales,
    avg(orders.total_amount) AS avg_order_value,
    count(DISTINCT orders.user_id) AS unique_customers
   FROM public.orders
  WHERE (orders.status = 'completed'::text)
  GROUP BY (date_trunc('hour'::text, orders.created_at));