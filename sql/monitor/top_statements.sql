-- Every top-level pg_stat_statements entry's running totals, without texts (showtext = false:
-- no read of the query-text file). The collector diffs them by (queryid, role, database) and
-- ranks each class's statements over the window; texts are read apart, for the few it shows.
-- mine: the entry is the monitor's role's, so it may be the monitor's own statement (its text
-- tells: top_statement_texts.sql).
SELECT s.queryid::text AS queryid, s.userid::int8 AS userid, s.dbid::int8 AS dbid,
       coalesce(r.rolname::text, s.userid::text) AS role, coalesce(d.datname::text, s.dbid::text) AS db,
       s.calls, s.total_exec_time::float8 AS exec_ms, s.rows,
       s.userid = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS mine
FROM pg_stat_statements(false) s
LEFT JOIN pg_roles r ON r.oid = s.userid
LEFT JOIN pg_database d ON d.oid = s.dbid
WHERE s.toplevel
