-- The optional field extensions the Latency page and the Advisor use, where the server preloads them (the
-- sandbox does when their Debian packages are installed): pg_stat_kcache
-- (postgresql-15-pg-stat-kcache), CPU time per statement, and pg_wait_sampling
-- (postgresql-15-pg-wait-sampling), the wait-event profile. Run at the first load and at every
-- start of a loaded sandbox, so one made before the packages were installed gains them at its
-- next restart. Without the preload, CREATE EXTENSION would succeed and every read fail.
DO $$
DECLARE
    preload text[] := string_to_array(replace(replace(current_setting('shared_preload_libraries'), ' ', ''), '"', ''), ',');
BEGIN
    -- requires pg_stat_statements (schema.sql creates it); CASCADE in case it was dropped.
    IF 'pg_stat_kcache' = ANY (preload)
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_stat_kcache') THEN
        CREATE EXTENSION IF NOT EXISTS pg_stat_kcache CASCADE;
    END IF;
    IF 'pg_wait_sampling' = ANY (preload)
       AND EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_wait_sampling') THEN
        CREATE EXTENSION IF NOT EXISTS pg_wait_sampling;
    END IF;
    -- hypopg (postgresql-15-hypopg), hypothetical indexes for the Advisor's missing-index
    -- check: needs no preload.
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg') THEN
        CREATE EXTENSION IF NOT EXISTS hypopg;
    END IF;
    -- pg_partman (postgresql-15-partman), monthly partitions made ahead for the Advisor's online
    -- partition move: needs no preload (its background worker is optional).
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_partman')
       AND NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_partman') THEN
        CREATE SCHEMA IF NOT EXISTS partman;
        CREATE EXTENSION pg_partman SCHEMA partman;
    END IF;
END $$;
