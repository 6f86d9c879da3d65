-- Materialized views: size, populated, whether REFRESH ... CONCURRENTLY can run (a plain,
-- valid unique index), their base tables, and a session refreshing one right now.
WITH mv AS (
  SELECT c.oid, n.nspname, c.relname, m.ispopulated, pg_total_relation_size(c.oid) AS total_bytes,
         EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique AND i.indisvalid
                   AND i.indpred IS NULL AND i.indexprs IS NULL) AS has_unique
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_matviews m ON m.schemaname = n.nspname AND m.matviewname = c.relname
  WHERE c.relkind = 'm'
), deps AS (
  SELECT DISTINCT rw.ev_class AS mv_oid, d.refobjid AS base_oid
  FROM pg_rewrite rw
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid
                  AND d.refclassid = 'pg_class'::regclass AND d.refobjid <> rw.ev_class
  JOIN mv ON mv.oid = rw.ev_class
)
SELECT mv.nspname || '.' || mv.relname AS view, mv.ispopulated, mv.ispopulated AND mv.has_unique AS concurrent_ok,
       mv.total_bytes,
       coalesce((SELECT string_agg(DISTINCT d.base_oid::regclass::text, ', ') FROM deps d WHERE d.mv_oid = mv.oid), '') AS base_tables,
       coalesce((SELECT l.pid FROM pg_locks l WHERE l.relation = mv.oid AND l.granted
                  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                  AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock') AND l.pid <> pg_backend_pid() LIMIT 1), 0) AS refreshing_pid
FROM mv ORDER BY 1
