SELECT p.pid, coalesce(p.relid::regclass::text, p.relid::text) AS rel, p.phase,
       a.backend_type = 'autovacuum worker' AS is_auto,
       coalesce(100.0 * p.heap_blks_scanned / nullif(p.heap_blks_total, 0), 0)::float8 AS pct_scanned,
       coalesce(extract(epoch FROM clock_timestamp() - a.xact_start), 0)::float8 AS running_s
FROM pg_stat_progress_vacuum p JOIN pg_stat_activity a USING (pid)
WHERE p.datname = current_database()  -- relid resolves in the monitored database only
