-- A join of the fact table with its dimensions through their keys (no aggregate): the shape of
-- the seed's fact_sales_mv, under its own name.
CREATE MATERIALIZED VIEW shape_fact AS
SELECT oi.item_id, o.order_id, o.user_id, u.user_segment, oi.product_id, p.category, oi.quantity,
       oi.price * oi.quantity AS sales_amount, o.created_at AS sale_time
FROM orders o JOIN order_items oi ON o.order_id = oi.order_id JOIN dim_products p ON oi.product_id = p.product_id
JOIN dim_users u ON o.user_id = u.user_id WHERE o.status = 'completed';
CREATE UNIQUE INDEX ON shape_fact (item_id);
