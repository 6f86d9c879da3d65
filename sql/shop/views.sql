-- The seed's materialized views: sales_hourly_mv and fact_sales_mv (section 3.2) and
-- daily_sales_summary (section 9.1), with their indexes. Created WITH DATA after the demo load.
--
-- Adaptations, each so that the seed's own refresh strategy can run on its own schema:
-- * fact_sales_mv carries oi.item_id, the one column that identifies a row (an order may list a
--   product twice), so that it can have the unique index REFRESH ... CONCURRENTLY requires.
-- * daily_sales_summary reads order_items: the seed's version groups orders by product_id and
--   sums an amount column, neither of which its orders table has. It counts distinct orders.
-- * the seed's BRIN and B-tree indexes are kept; each view gets one plain unique index.

CREATE MATERIALIZED VIEW sales_hourly_mv AS
SELECT
    date_trunc('hour', created_at) AS hour,
    COUNT(*) AS order_count,
    SUM(total_amount) AS total_sales,
    AVG(total_amount) AS avg_order_value,
    COUNT(DISTINCT user_id) AS unique_customers
FROM orders
WHERE status = 'completed'
GROUP BY date_trunc('hour', created_at)
WITH DATA;
CREATE UNIQUE INDEX idx_sales_hourly_hour ON sales_hourly_mv (hour);
CREATE INDEX idx_sales_hourly_time_brin ON sales_hourly_mv USING BRIN (hour);

CREATE MATERIALIZED VIEW fact_sales_mv AS
SELECT
    oi.item_id,
    o.order_id,
    o.user_id,
    u.user_segment,
    oi.product_id,
    p.category,
    oi.quantity,
    oi.price * oi.quantity AS sales_amount,
    o.created_at AS sale_time
FROM orders o
JOIN order_items oi ON o.order_id = oi.order_id
JOIN dim_products p ON oi.product_id = p.product_id
JOIN dim_users u ON o.user_id = u.user_id
WHERE o.status = 'completed'
WITH DATA;
CREATE UNIQUE INDEX idx_fact_sales_item ON fact_sales_mv (item_id);
CREATE INDEX idx_fact_sales_category ON fact_sales_mv (category);
CREATE INDEX idx_fact_sales_segment ON fact_sales_mv (user_segment);
CREATE INDEX idx_fact_sales_time_brin ON fact_sales_mv USING BRIN (sale_time);

CREATE MATERIALIZED VIEW daily_sales_summary AS
SELECT
    DATE(created_at) AS sale_date,
    product_id,
    SUM(price * quantity) AS total_amount,
    COUNT(DISTINCT order_id) AS order_count
FROM order_items
GROUP BY DATE(created_at), product_id
WITH DATA;
CREATE UNIQUE INDEX idx_daily_sales_key ON daily_sales_summary (sale_date, product_id);

-- Their first population is their first refresh: staleness is known from the start.
ANALYZE sales_hourly_mv, fact_sales_mv, daily_sales_summary;
INSERT INTO htap.refresh_log (view_name, mode, started_at, finished_at, rows, outcome)
SELECT n.nspname || '.' || c.relname, 'plain', now(), clock_timestamp(), c.reltuples::bigint, 'ok'
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.oid IN ('sales_hourly_mv'::regclass, 'fact_sales_mv'::regclass, 'daily_sales_summary'::regclass);
