-- The seed's reports (4.2) and its raw base-table aggregation (5.2.3), read from the base
-- tables (the materialized-view variants come with the views). Each is one statement, run in
-- the workload's isolation level (the seed: REPEATABLE READ for reports).
-- name: hourly
SELECT date_trunc('hour', created_at) AS hour, count(*) AS order_count, sum(total_amount) AS total_sales,
       avg(total_amount) AS avg_order_value, count(DISTINCT user_id) AS unique_customers
FROM orders WHERE status = 'completed' AND created_at >= localtimestamp - interval '24 hours'
GROUP BY 1 ORDER BY 1 DESC
-- name: category
SELECT p.category, sum(oi.price * oi.quantity) AS total_sales, sum(oi.quantity) AS total_quantity
FROM orders o JOIN order_items oi ON o.order_id = oi.order_id JOIN dim_products p ON oi.product_id = p.product_id
WHERE o.status = 'completed' AND o.created_at >= localtimestamp - interval '7 days'
GROUP BY p.category ORDER BY total_sales DESC LIMIT 10
-- name: rfm
WITH user_rfm AS (
    SELECT o.user_id, max(o.created_at) AS last_purchase_date, count(DISTINCT o.order_id) AS purchase_frequency,
           sum(oi.price * oi.quantity) AS total_spent
    FROM orders o JOIN order_items oi ON o.order_id = oi.order_id
    WHERE o.status = 'completed' AND o.created_at >= localtimestamp - interval '180 days'
    GROUP BY o.user_id
)
SELECT u.user_segment, count(*) AS user_count, avg(total_spent) AS avg_ltv, avg(purchase_frequency) AS avg_frequency
FROM user_rfm JOIN dim_users u USING (user_id) GROUP BY u.user_segment
-- name: base_aggregation
SELECT date_trunc('day', o.created_at) AS day, p.category, u.user_segment,
       count(DISTINCT o.order_id) AS orders, sum(oi.price * oi.quantity) AS sales
FROM orders o JOIN order_items oi ON o.order_id = oi.order_id
JOIN dim_products p ON oi.product_id = p.product_id JOIN dim_users u ON o.user_id = u.user_id
WHERE o.status = 'completed'
GROUP BY 1, 2, 3 ORDER BY 1 DESC, 5 DESC
-- name: hourly_mv
SELECT hour, order_count, total_sales, avg_order_value, unique_customers
FROM sales_hourly_mv WHERE hour >= localtimestamp - interval '24 hours' ORDER BY hour DESC
