-- The tuning advisor's reads (src/advise). Read-only: catalog, pg_stats, the cumulative
-- statistics, pg_stat_statements. Every statement that names schemas takes $1, a text[] of the
-- schemas to look at, or NULL for every schema but the system ones and htap.

-- name: facts
SELECT current_user, current_database(),
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false) AS superuser,
       coalesce((SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user), false) AS createrole,
       pg_has_role('pg_read_all_stats', 'USAGE') AS read_all_stats,
       to_char(coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                        pg_postmaster_start_time()) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') AS stats_since,
       extract(epoch FROM now() - coalesce((SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()),
                                           pg_postmaster_start_time()))::float8 / 3600 AS stats_hours,
       EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS has_pgss,
       (SELECT extversion FROM pg_extension WHERE extname = 'hypopg') AS hypopg,
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'hypopg') AS hypopg_available,
       has_database_privilege(current_database(), 'CREATE') AS can_create_extension,
       pg_size_bytes(current_setting('min_parallel_table_scan_size')) AS min_parallel_table_scan_size,
       current_setting('max_parallel_workers_per_gather')::int AS workers_per_gather,
       current_setting('max_parallel_workers')::int AS max_parallel_workers,
       current_setting('autovacuum_vacuum_threshold')::float8 AS av_threshold,
       current_setting('autovacuum_vacuum_scale_factor')::float8 AS av_scale_factor,
       current_setting('autovacuum_vacuum_insert_threshold')::float8 AS av_insert_threshold,
       current_setting('autovacuum_vacuum_insert_scale_factor')::float8 AS av_insert_scale_factor,
       current_setting('autovacuum')::bool AS autovacuum

-- name: brin_candidates
-- Single-column B-trees on a time-typed column whose physical order follows its values.
SELECT n.nspname AS schema, c.relname AS table_name, a.attname AS column_name, s.correlation::float8 AS correlation,
       pg_relation_size(c.oid) AS table_bytes, greatest(c.reltuples, 0)::bigint AS reltuples, c.relpages,
       i.relname AS index_name, pg_relation_size(i.oid) AS index_bytes,
       coalesce(st.idx_scan, 0) AS idx_scan, coalesce(st.idx_tup_read, 0) AS idx_tup_read,
       pg_get_indexdef(i.oid) AS indexdef, pg_has_role(c.relowner, 'USAGE') AS can_change,
       coalesce(t.n_tup_ins, 0) AS n_tup_ins, coalesce(t.n_tup_upd, 0) AS n_tup_upd, coalesce(t.n_tup_del, 0) AS n_tup_del,
       EXISTS (SELECT 1 FROM pg_index y JOIN pg_class yi ON yi.oid = y.indexrelid JOIN pg_am ya ON ya.oid = yi.relam
               WHERE y.indrelid = c.oid AND ya.amname = 'brin' AND y.indkey[0] = x.indkey[0]) AS has_brin,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid) AS backs_constraint
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_am am ON am.oid = i.relam AND am.amname = 'btree'
JOIN pg_class c ON c.oid = x.indrelid AND c.relkind IN ('r', 'm')
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = x.indkey[0]
JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname AND NOT s.inherited
LEFT JOIN pg_stat_all_indexes st ON st.indexrelid = i.oid
LEFT JOIN pg_stat_all_tables t ON t.relid = c.oid
WHERE x.indnatts = 1 AND x.indexprs IS NULL AND x.indpred IS NULL AND NOT x.indisunique AND x.indisvalid
  AND a.atttypid IN ('timestamp'::regtype, 'timestamptz'::regtype, 'date'::regtype)
  AND pg_relation_size(c.oid) >= $2 AND abs(s.correlation) >= $3
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
  AND (n.nspname = ANY ($1::text[]) OR ($1::text[] IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'htap')
       AND n.nspname NOT LIKE 'pg\_%'))
ORDER BY table_bytes DESC

-- name: indexes
-- Every index of the tables looked at, with what it enforces, whether a foreign key's checks
-- and cascades need it (its leading columns are the referencing columns), and its write cost.
SELECT n.nspname AS schema, c.relname AS table_name, i.relname AS index_name, am.amname,
       x.indkey::text AS indkey, x.indclass::text AS indclass, x.indcollation::text AS indcollation,
       coalesce(pg_get_expr(x.indexprs, x.indrelid), '') AS exprs, coalesce(pg_get_expr(x.indpred, x.indrelid), '') AS pred,
       x.indisunique OR x.indisprimary OR x.indisexclusion AS enforces, x.indisvalid,
       EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.oid) AS backs_constraint,
       (SELECT f.conname FROM pg_constraint f WHERE f.contype = 'f' AND f.conrelid = c.oid
          AND cardinality(f.conkey) <= x.indnkeyatts
          AND (SELECT array_agg(k ORDER BY k) FROM unnest((x.indkey::int2[])[0:cardinality(f.conkey) - 1]) k)
            = (SELECT array_agg(k ORDER BY k) FROM unnest(f.conkey) k)
        LIMIT 1) AS serves_fk,
       pg_relation_size(i.oid) AS index_bytes, coalesce(st.idx_scan, 0) AS idx_scan,
       coalesce(t.n_tup_ins, 0) AS n_tup_ins, coalesce(t.n_tup_upd, 0) AS n_tup_upd,
       coalesce(t.n_tup_hot_upd, 0) AS n_tup_hot_upd, coalesce(t.n_tup_del, 0) AS n_tup_del,
       pg_get_indexdef(i.oid) AS indexdef, pg_has_role(c.relowner, 'USAGE') AS can_change,
       (SELECT string_agg(coalesce(a.attname::text, 'expression'), ', ' ORDER BY k.ord)
          FROM unnest(x.indkey::int2[]) WITH ORDINALITY k(attnum, ord)
          LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum) AS columns
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_am am ON am.oid = i.relam
JOIN pg_class c ON c.oid = x.indrelid AND c.relkind IN ('r', 'm')
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_stat_all_indexes st ON st.indexrelid = i.oid
LEFT JOIN pg_stat_all_tables t ON t.relid = c.oid
WHERE (n.nspname = ANY ($1::text[]) OR ($1::text[] IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'htap')
       AND n.nspname NOT LIKE 'pg\_%'))
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY n.nspname, c.relname, i.relname

-- name: tables
-- Tables with their churn counters and autovacuum reloptions.
SELECT n.nspname AS schema, c.relname AS table_name, greatest(c.reltuples, 0)::float8 AS reltuples,
       t.n_live_tup, t.n_dead_tup, t.n_tup_ins, t.n_tup_upd, t.n_tup_del, t.n_tup_hot_upd,
       t.autovacuum_count, t.vacuum_count, coalesce(t.last_autovacuum::text, '') AS last_autovacuum,
       coalesce(array_to_json(c.reloptions)::text, '[]') AS reloptions, pg_table_size(c.oid) AS table_bytes,
       pg_has_role(c.relowner, 'USAGE') AS can_change
FROM pg_stat_all_tables t
JOIN pg_class c ON c.oid = t.relid AND c.relkind IN ('r', 'm')
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE (n.nspname = ANY ($1::text[]) OR ($1::text[] IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'htap')
       AND n.nspname NOT LIKE 'pg\_%'))
  AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass AND e.objid = c.oid AND e.deptype = 'e')
ORDER BY n.nspname, c.relname

-- name: role_parallel
-- A role's max_parallel_workers_per_gather as its next session gets it in this database: its
-- own setting here, else its own for every database, else the server's.
SELECT r.rolname,
       (SELECT split_part(cfg, '=', 2) FROM pg_db_role_setting s, unnest(s.setconfig) cfg
         WHERE s.setrole = r.oid AND s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
           AND lower(split_part(cfg, '=', 1)) = 'max_parallel_workers_per_gather'
         ORDER BY s.setdatabase DESC LIMIT 1) AS own_value,
       (SELECT count(*) FROM pg_db_role_setting s, unnest(s.setconfig) cfg
         WHERE s.setrole = r.oid AND s.setdatabase = 0 AND lower(split_part(cfg, '=', 1)) = 'max_parallel_workers_per_gather') AS all_db,
       coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)
         OR (coalesce((SELECT rolcreaterole FROM pg_roles WHERE rolname = current_user), false) AND NOT r.rolsuper) AS can_change
FROM pg_roles r WHERE r.rolname = $1

-- name: role_tables
-- The largest tables and views a role can read.
SELECT n.nspname AS schema, c.relname AS table_name, c.relkind::text, pg_relation_size(c.oid) AS bytes,
       coalesce(array_to_json(c.reloptions)::text, '[]') AS reloptions
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'm')
  AND (n.nspname = ANY ($1::text[]) OR ($1::text[] IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'htap')
       AND n.nspname NOT LIKE 'pg\_%'))
  AND has_table_privilege($2, c.oid, 'SELECT')
ORDER BY bytes DESC LIMIT 6

-- name: role_statements
-- The role's statements in this database by total time (texts visible with pg_read_all_stats).
SELECT s.query, s.calls, s.mean_exec_time
FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
WHERE r.rolname = $1 AND s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.query ~* '^\s*(select|with)\s'
ORDER BY s.total_exec_time DESC LIMIT 5

-- name: matviews
SELECT n.nspname AS schema, c.relname AS view_name, pg_relation_size(c.oid) AS bytes, c.relispopulated,
       EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisunique AND x.indisvalid
               AND x.indpred IS NULL AND x.indexprs IS NULL) AS has_unique,
       (SELECT string_agg(s.attname, ',' ORDER BY s.attname) FROM pg_stats s
         WHERE s.schemaname = n.nspname AND s.tablename = c.relname AND s.n_distinct = -1 AND s.null_frac = 0) AS unique_candidates,
       pg_has_role(c.relowner, 'USAGE') AS can_change,
       (SELECT coalesce(sum(t.n_tup_ins + t.n_tup_upd + t.n_tup_del), 0) FROM pg_stat_all_tables t
         WHERE t.relid IN (SELECT d.refobjid FROM pg_rewrite rw JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass
                             AND d.objid = rw.oid AND d.refclassid = 'pg_class'::regclass
                           WHERE rw.ev_class = c.oid AND d.refobjid <> c.oid))::float8 AS base_changes,
       (SELECT string_agg(DISTINCT b.oid::regclass::text, ', ') FROM pg_rewrite rw JOIN pg_depend d
           ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refclassid = 'pg_class'::regclass
         JOIN pg_class b ON b.oid = d.refobjid AND b.relkind IN ('r', 'p', 'm')
         WHERE rw.ev_class = c.oid AND d.refobjid <> c.oid) AS base_tables
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind = 'm'
  AND (n.nspname = ANY ($1::text[]) OR ($1::text[] IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'htap')
       AND n.nspname NOT LIKE 'pg\_%'))
ORDER BY n.nspname, c.relname

-- name: refresh_counts
-- Full refreshes (plain or CONCURRENTLY) of the last 24 h from the app's registry, per view.
SELECT l.view_name, count(*) AS refreshes,
       greatest(extract(epoch FROM now() - min(l.started_at))::float8 / 3600, 1.0 / 60) AS hours,
       s.every_seconds, s.runner
FROM htap.refresh_log l LEFT JOIN htap.refresh_schedule s ON s.view_name = l.view_name
WHERE l.started_at > now() - interval '24 hours' AND l.outcome = 'ok' AND l.mode IN ('plain', 'concurrent')
GROUP BY l.view_name, s.every_seconds, s.runner

-- name: partition_candidates
-- Large plain tables with a time-typed column: the range its statistics see.
SELECT n.nspname AS schema, c.relname AS table_name, a.attname AS column_name, s.correlation::float8 AS correlation,
       pg_relation_size(c.oid) AS table_bytes, greatest(c.reltuples, 0)::bigint AS reltuples,
       (s.histogram_bounds::text::text[])[1] AS low,
       (s.histogram_bounds::text::text[])[cardinality(s.histogram_bounds::text::text[])] AS high,
       format_type(a.atttypid, a.atttypmod) AS type, pg_has_role(c.relowner, 'USAGE') AS can_change,
       EXISTS (SELECT 1 FROM pg_constraint f WHERE f.confrelid = c.oid AND f.contype = 'f') AS referenced
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = c.relname AND s.attname = a.attname AND NOT s.inherited
WHERE c.relkind = 'r' AND NOT c.relispartition AND s.histogram_bounds IS NOT NULL
  AND a.atttypid IN ('timestamp'::regtype, 'timestamptz'::regtype, 'date'::regtype)
  AND pg_relation_size(c.oid) >= $2
  AND (n.nspname = ANY ($1::text[]) OR ($1::text[] IS NULL AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'htap')
       AND n.nspname NOT LIKE 'pg\_%'))
ORDER BY table_bytes DESC

-- name: statements_on
-- Statements that name a table and filter on a column of it (WHERE ... column), by total time.
SELECT s.query, s.calls, s.mean_exec_time
FROM pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.query ~* ('\m' || $1 || '\M') AND s.query ~* ('\mwhere\M.*\m' || $2 || '\M')
  AND s.query ~* '^\s*(select|with)\s' AND s.query NOT LIKE '/* htap-studio%' AND s.query !~ '\mhtap_move_'
ORDER BY s.total_exec_time DESC LIMIT 5

-- name: top_statements
-- The top read statements of this database by total time, not the app's own.
SELECT s.query, s.calls, s.mean_exec_time
FROM pg_stat_statements s
WHERE s.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND s.query ~* '^\s*(select|with)\s' AND s.query NOT LIKE '/* htap-studio%' AND s.query !~ '\mhtap_move_'
  AND s.query !~* '\m(pg_catalog|pg_stat_[a-z_]+|pg_class|pg_locks|information_schema|hypopg[a-z_]*)\M'
ORDER BY s.total_exec_time DESC LIMIT $1

-- name: table_columns
SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum

-- name: guard_table
-- What a table looks like to the advice: its indexes and options.
SELECT coalesce(c.relkind::text || '|' || coalesce(array_to_string(c.reloptions, ','), '') || '|' ||
         coalesce((SELECT string_agg(pg_get_indexdef(x.indexrelid) || CASE WHEN x.indisvalid THEN '' ELSE ' INVALID' END,
                                     ';' ORDER BY pg_get_indexdef(x.indexrelid))
                   FROM pg_index x WHERE x.indrelid = c.oid), ''), '(gone)')
FROM (SELECT to_regclass($1) AS oid) r LEFT JOIN pg_class c ON c.oid = r.oid

-- name: guard_role
SELECT coalesce((SELECT string_agg(cfg, ',' ORDER BY s.setdatabase, cfg) FROM pg_db_role_setting s, unnest(s.setconfig) cfg
                  WHERE s.setrole = r.oid AND lower(cfg) LIKE 'max_parallel%'), '')
FROM pg_roles r WHERE r.rolname = $1

-- name: guard_schedule
SELECT coalesce((SELECT mode || '|' || every_seconds || '|' || runner FROM htap.refresh_schedule WHERE view_name = $1), '(none)')

-- name: lock_holders
-- Who holds a lock on a relation (granted), other than us.
SELECT l.pid, l.mode, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), coalesce(a.state, ''),
       coalesce(extract(epoch FROM now() - a.xact_start)::float8, 0), left(coalesce(a.query, ''), 200)
FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'relation' AND l.relation = to_regclass($1) AND l.granted AND l.pid <> pg_backend_pid()
ORDER BY a.xact_start NULLS LAST

-- name: oldest_transactions
-- Transactions CREATE/DROP INDEX CONCURRENTLY waits for: the oldest ones still open.
SELECT a.pid, coalesce(a.usename::text, ''), coalesce(a.application_name, ''), coalesce(a.state, ''),
       extract(epoch FROM now() - a.xact_start)::float8, left(coalesce(a.query, ''), 200)
FROM pg_stat_activity a
WHERE a.xact_start IS NOT NULL AND a.pid <> pg_backend_pid() AND a.backend_type = 'client backend'
ORDER BY a.xact_start LIMIT 3
