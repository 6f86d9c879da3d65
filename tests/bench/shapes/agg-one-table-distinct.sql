-- An aggregate over one table with count(DISTINCT) of an indexed integer (kept as bitmaps):
-- the shape of the seed's sales_hourly_mv, under its own name.
CREATE MATERIALIZED VIEW shape_hourly AS
SELECT date_trunc('hour', created_at) AS hour, count(*) AS order_count, sum(total_amount) AS total_sales,
       avg(total_amount) AS avg_order_value, count(DISTINCT user_id) AS unique_customers
FROM orders WHERE status = 'completed' GROUP BY date_trunc('hour', created_at);
CREATE UNIQUE INDEX ON shape_hourly (hour);
