-- Demo data for the shop schema, sized by a scale factor and reproducible (setseed).
--
-- Per unit of scale: 10,000 users, 1,000 products (at least 50), 100,000 orders over the last
-- 30 days with 1 to 5 items each (about 300,000 items). Order status mix: 70% completed,
-- 10% paid, 8% shipped, 7% pending, 5% cancelled. 10% of users are VIP. Inventory is ample
-- except for 2% of products, which hold little stock so that the seed's stock check (4.1)
-- rolls some orders back, as it would in a real shop.

CREATE OR REPLACE FUNCTION htap.load_demo_data(p_scale numeric)
RETURNS TABLE (users bigint, products bigint, orders bigint, items bigint)
LANGUAGE plpgsql AS $fn$
DECLARE
    n_users    bigint := greatest(100, round(10000 * p_scale));
    n_products bigint := greatest(50, round(1000 * p_scale));
    n_orders   bigint := greatest(100, round(100000 * p_scale));
    categories text[] := ARRAY['Electronics', 'Books', 'Home', 'Garden', 'Toys', 'Sports',
                               'Beauty', 'Grocery', 'Fashion', 'Automotive', 'Health', 'Office'];
BEGIN
    IF p_scale IS NULL OR p_scale <= 0 THEN
        RAISE EXCEPTION 'scale must be above 0, got %', p_scale USING ERRCODE = '22023';
    END IF;
    PERFORM setseed(0.42);

    INSERT INTO dim_users (user_id, user_name, user_segment, registration_date, created_at)
    SELECT g, 'user_' || g,
           CASE WHEN random() < 0.10 THEN 'VIP' ELSE 'Normal' END,
           DATE '2020-01-01' + (random() * 2000)::int,
           localtimestamp - interval '400 days'
    FROM generate_series(1, n_users) g;

    INSERT INTO dim_products (product_id, product_name, category, price, created_at)
    SELECT g, 'product_' || g, categories[1 + (g % array_length(categories, 1))],
           round((5 + random() * 495)::numeric, 2), localtimestamp - interval '400 days'
    FROM generate_series(1, n_products) g;

    INSERT INTO inventory (product_id, quantity)
    SELECT product_id, CASE WHEN random() < 0.02 THEN 20 ELSE 1000000 END FROM dim_products;

    CREATE TEMP TABLE demo_orders ON COMMIT DROP AS
    SELECT g AS order_id,
           1 + floor(random() * n_users)::bigint AS user_id,
           CASE WHEN r < 0.70 THEN 'completed' WHEN r < 0.80 THEN 'paid'
                WHEN r < 0.88 THEN 'shipped' WHEN r < 0.95 THEN 'pending' ELSE 'cancelled' END AS status,
           ts AS created_at
    FROM (SELECT g, random() AS r,
                 date_trunc('second', localtimestamp - random() * interval '30 days') AS ts
          FROM generate_series(1, n_orders) g) s;

    CREATE TEMP TABLE demo_items ON COMMIT DROP AS
    SELECT row_number() OVER (ORDER BY o.order_id, k) AS item_id, o.order_id, p.product_id,
           1 + floor(random() * 3)::int AS quantity, p.price, o.created_at
    FROM demo_orders o
    CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 5)::int + 0 * o.order_id::int) k
    JOIN LATERAL (SELECT 1 + floor(random() * n_products)::bigint + 0 * k AS product_id) pick ON true
    JOIN dim_products p ON p.product_id = pick.product_id;

    INSERT INTO orders (order_id, user_id, total_amount, status, created_at, updated_at)
    SELECT o.order_id, o.user_id, coalesce(t.total, 0), o.status, o.created_at, o.created_at
    FROM demo_orders o
    LEFT JOIN (SELECT order_id, sum(price * quantity) AS total FROM demo_items GROUP BY order_id) t
           USING (order_id)
    ORDER BY o.created_at;

    INSERT INTO order_items (item_id, order_id, product_id, quantity, price, created_at)
    SELECT item_id, order_id, product_id, quantity, price, created_at FROM demo_items ORDER BY created_at;

    PERFORM setval('orders_order_id_seq', n_orders);
    PERFORM setval('order_items_item_id_seq', (SELECT count(*) FROM demo_items));

    RETURN QUERY SELECT n_users, n_products, n_orders, (SELECT count(*) FROM demo_items);
END
$fn$;
