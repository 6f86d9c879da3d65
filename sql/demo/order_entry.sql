-- The seed's order transaction (4.1), one statement per round trip, for the headless demo
-- (its reports come from workload/reports.sql).
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
