-- The seed case study's shop schema (section 3.2), plus the inventory table its order
-- transaction (4.1) decrements. Column names and types follow the seed exactly; the
-- sequences stand in for its generate_order_id()/generate_item_id().

CREATE TABLE orders (
    order_id        BIGINT PRIMARY KEY,
    user_id         BIGINT NOT NULL,
    total_amount    DECIMAL(12,2) NOT NULL,
    status          VARCHAR(20) NOT NULL,
    created_at      TIMESTAMP NOT NULL DEFAULT NOW(),
    updated_at      TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_orders_user ON orders(user_id);
CREATE INDEX idx_orders_created ON orders(created_at);

CREATE TABLE order_items (
    item_id         BIGINT PRIMARY KEY,
    order_id        BIGINT NOT NULL REFERENCES orders(order_id),
    product_id      BIGINT NOT NULL,
    quantity        INT NOT NULL,
    price           DECIMAL(10,2) NOT NULL,
    created_at      TIMESTAMP NOT NULL DEFAULT NOW()
);
CREATE INDEX idx_items_order ON order_items(order_id);
CREATE INDEX idx_items_product ON order_items(product_id);

CREATE TABLE dim_products (
    product_id      BIGINT PRIMARY KEY,
    product_name    VARCHAR(255) NOT NULL,
    category        VARCHAR(100) NOT NULL,
    price           DECIMAL(10,2) NOT NULL,
    created_at      TIMESTAMP DEFAULT NOW()
);

CREATE TABLE dim_users (
    user_id         BIGINT PRIMARY KEY,
    user_name       VARCHAR(100) NOT NULL,
    user_segment    VARCHAR(50),  -- VIP/Normal
    registration_date DATE,
    created_at      TIMESTAMP DEFAULT NOW()
);

-- The seed's 4.1 decrements inventory with a stock check: UPDATE ... WHERE quantity >= $1.
CREATE TABLE inventory (
    product_id      BIGINT PRIMARY KEY REFERENCES dim_products(product_id),
    quantity        INT NOT NULL CHECK (quantity >= 0),
    updated_at      TIMESTAMP NOT NULL DEFAULT NOW()
);

CREATE SEQUENCE orders_order_id_seq OWNED BY orders.order_id;
ALTER TABLE orders ALTER COLUMN order_id SET DEFAULT nextval('orders_order_id_seq');
CREATE SEQUENCE order_items_item_id_seq OWNED BY order_items.item_id;
ALTER TABLE order_items ALTER COLUMN item_id SET DEFAULT nextval('order_items_item_id_seq');

-- The app's own objects live in schema htap (refresh registry, incremental maintenance, demo data).
CREATE SCHEMA IF NOT EXISTS htap;
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
-- pg_cron, where the server preloads it (the sandbox does when postgresql-15-cron is installed):
-- refresh schedules can then run on the server.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_cron')
       AND current_setting('shared_preload_libraries') LIKE '%pg_cron%' THEN
        CREATE EXTENSION IF NOT EXISTS pg_cron;
    END IF;
END $$;
-- prioritize (postgresql-15-prioritize), where installed: lets the Roles page lower the CPU
-- priority of OLAP backends (the seed's cgroup idea, 3.3, done inside PostgreSQL).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'prioritize') THEN
        CREATE EXTENSION IF NOT EXISTS prioritize;
    END IF;
END $$;
