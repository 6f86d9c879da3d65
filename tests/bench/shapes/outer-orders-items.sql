-- An outer join not reached by a key (counted, merged by recomputing what the changes reach):
-- every order with its items, an order without items once with NULLs. order_items is not
-- reached by its key (order_id is not), so this is no LEFT JOIN to a dimension.
CREATE MATERIALIZED VIEW shape_outer AS
SELECT o.order_id, o.status, oi.product_id, oi.quantity
FROM orders o LEFT JOIN order_items oi ON oi.order_id = o.order_id;
