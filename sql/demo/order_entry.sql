-- The seed's order transaction (4.1), one statement per round trip, and two of its reports
-- (4.2, read from the base tables) for the headless demo.
-- Run as: BEGIN; insert_order; then per item insert_item + decrement_stock (0 rows = short
-- stock: ROLLBACK); COMMIT. Each statement is separated by a line "-- name: <name>".
-- name: insert_order
INSERT INTO orders (user_id, total_amount, status, created_at)
VALUES ($1, $2, 'pending', NOW()) RETURNING order_id
-- name: insert_item
INSERT INTO order_items (order_id, product_id, quantity, price, created_at)
VALUES ($1, $2, $3, $4, NOW())
-- name: decrement_stock
UPDATE inventory SET quantity = quantity - $1 WHERE product_id = $2 AND quantity >= $1
-- name: product_price
SELECT price FROM dim_products WHERE product_id = $1
-- name: report_hourly
SELECT date_trunc('hour', created_at) AS hour, count(*) AS order_count, sum(total_amount) AS total_sales,
       avg(total_amount) AS avg_order_value, count(DISTINCT user_id) AS unique_customers
FROM orders WHERE status = 'completed' AND created_at >= localtimestamp - interval '24 hours'
GROUP BY 1 ORDER BY 1 DESC
-- name: report_category
SELECT p.category, sum(oi.price * oi.quantity) AS total_sales, sum(oi.quantity) AS total_quantity
FROM orders o JOIN order_items oi ON o.order_id = oi.order_id JOIN dim_products p ON oi.product_id = p.product_id
WHERE o.status = 'completed' AND o.created_at >= localtimestamp - interval '7 days'
GROUP BY p.category ORDER BY total_sales DESC LIMIT 10
