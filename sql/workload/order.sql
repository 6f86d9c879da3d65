-- The seed's order transaction (4.1) as prepared statements. Forms:
--   roundtrip: BEGIN; insert_order; per item insert_item + decrement_stock (0 rows: short
--              stock -> ROLLBACK, a business rollback); COMMIT
--   pipeline:  the same statements in one libpq pipeline (insert_item_currval takes the order id
--              from the sequence), then COMMIT or ROLLBACK: two round trips
--   cte:       order_cte, one statement; short stock violates inventory's CHECK (quantity >= 0)
--              and rolls the whole statement back (SQLSTATE 23514, a business rollback)
-- name: insert_order
INSERT INTO orders (user_id, total_amount, status, created_at) VALUES ($1, $2, 'pending', NOW()) RETURNING order_id
-- name: insert_item
INSERT INTO order_items (order_id, product_id, quantity, price, created_at) VALUES ($1, $2, $3, $4, NOW())
-- name: insert_item_currval
INSERT INTO order_items (order_id, product_id, quantity, price, created_at)
VALUES (currval('orders_order_id_seq'), $1, $2, $3, NOW())
-- name: decrement_stock
UPDATE inventory SET quantity = quantity - $1 WHERE product_id = $2 AND quantity >= $1
-- name: order_cte
WITH items AS (
    SELECT t.product_id, t.quantity, p.price
    FROM unnest($2::bigint[], $3::int[]) AS t(product_id, quantity)
    JOIN dim_products p USING (product_id)
), stock AS (
    UPDATE inventory i SET quantity = i.quantity - it.quantity
    FROM items it WHERE i.product_id = it.product_id
    RETURNING i.product_id
), o AS (
    INSERT INTO orders (user_id, total_amount, status, created_at)
    SELECT $1, sum(price * quantity), 'pending', NOW() FROM items
    RETURNING order_id
)
INSERT INTO order_items (order_id, product_id, quantity, price, created_at)
SELECT o.order_id, it.product_id, it.quantity, it.price, NOW() FROM o, items it
-- name: prices
SELECT product_id, price::text FROM dim_products ORDER BY product_id
-- name: max_user
SELECT coalesce(max(user_id), 1) FROM dim_users
