-- The seed's two application roles (3.3): order entry and reports connect as different roles,
-- which is what lets the monitor tell OLTP from OLAP (pg_stat_statements keys by role) and
-- what per-role resource settings act on. Least grants: the writer can take orders, the
-- reader can only read. Sandbox only: no passwords (the sandbox trusts its private socket).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'oltp_user') THEN
        CREATE ROLE oltp_user LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'olap_user') THEN
        CREATE ROLE olap_user LOGIN;
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO oltp_user, olap_user;
GRANT SELECT, INSERT, UPDATE ON orders, order_items, inventory TO oltp_user;
GRANT SELECT ON dim_products, dim_users TO oltp_user;
GRANT USAGE ON SEQUENCE orders_order_id_seq, order_items_item_id_seq TO oltp_user;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO olap_user;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO olap_user;
GRANT USAGE ON SCHEMA htap TO olap_user;
