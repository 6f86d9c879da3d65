-- An aggregate over order_items with count(DISTINCT order_id) (kept as pairs): the shape of the
-- seed's daily_sales_summary, under its own name.
CREATE MATERIALIZED VIEW shape_daily AS
SELECT date(created_at) AS sale_date, product_id, sum(price * quantity) AS total_amount, count(DISTINCT order_id) AS order_count
FROM order_items GROUP BY date(created_at), product_id;
CREATE UNIQUE INDEX ON shape_daily (sale_date, product_id);
