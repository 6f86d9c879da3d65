-- The sessions named as blockers ($1: a text array of pids), for the roots of the tree.
SELECT a.pid, a.usename AS role, a.application_name AS app, a.datname AS db, a.state,
       coalesce(a.wait_event_type || ':' || a.wait_event, '') AS wait,
       coalesce(extract(epoch FROM clock_timestamp() - a.xact_start), 0)::float8 AS xact_s,
       left(a.query, 500) AS query
FROM pg_stat_activity a
WHERE a.pid = ANY ($1::int[])
