-- Per-role totals from pg_stat_statements, top-level statements only (track = all would
-- otherwise count nested statements twice). Summing per role keeps the transfer small; the
-- collector takes deltas and drops the interval when entries were evicted (dealloc moved) or
-- the statistics were reset. showtext = false: no read of the query-text file.
SELECT r.rolname AS role, sum(s.calls)::bigint AS calls,
       sum(s.total_exec_time)::float8 AS exec_ms, sum(s.total_plan_time)::float8 AS plan_ms,
       sum(s.rows)::bigint AS rows, sum(s.temp_blks_written)::bigint AS temp_blks_written
FROM pg_stat_statements(false) s
JOIN pg_roles r ON r.oid = s.userid
WHERE s.toplevel
GROUP BY r.rolname
