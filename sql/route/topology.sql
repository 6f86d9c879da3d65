-- The router's topology (src/route/topologyreader.cpp): where statements can go and what the
-- registered views hold. Every value is a bound parameter.
-- name: server
SELECT pg_is_in_recovery()
-- name: standbys
-- replay_lag stays NULL (not 0) when the server gives none: the router tells the two apart.
SELECT application_name, state, extract(epoch FROM replay_lag)::float8 AS replay_s,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_bytes
FROM pg_stat_replication ORDER BY application_name
-- name: view_definition
-- Run under search_path pg_catalog, so that every name comes out schema-qualified.
SELECT pg_get_viewdef(to_regclass($1))
-- name: view_columns
SELECT a.attname, format_type(a.atttypid, a.atttypmod)
FROM pg_attribute a WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum
-- name: table_columns
-- The views' base tables ($1: quoted qualified names), as the fetching session sees them.
SELECT n.nspname || '.' || c.relname AS key, pg_table_is_visible(c.oid) AS visible, a.attname,
       format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM unnest($1::text[]) AS t(name)
JOIN pg_class c ON c.oid = to_regclass(t.name)
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY 1, a.attnum
-- name: functions
-- $1: function names as statements call them ("name", or "schema.name" when qualified).
SELECT q.name, bool_or(p.provolatile = 'v') AS volatile, bool_or(p.prokind = 'a') AS aggregate
FROM unnest($1::text[]) AS q(name)
JOIN pg_proc p ON p.proname = CASE WHEN strpos(q.name, '.') > 0 THEN split_part(q.name, '.', 2) ELSE q.name END
JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE CASE WHEN strpos(q.name, '.') > 0 THEN n.nspname = split_part(q.name, '.', 1) ELSE pg_function_is_visible(p.oid) END
GROUP BY q.name
