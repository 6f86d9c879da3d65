-- pg_wait_sampling's profile: samples counted per (pid, wait event, queryid) since its last
-- reset, the whole of it (the collector diffs successive snapshots by key, and a pid used again
-- by a new session continues its old rows' counts), with who the pid is now (NULL for one that
-- is gone: the collector remembers it). Idle waits are left out here: a client's ClientRead
-- (waiting for the next statement) and background processes' Activity:*Main. NULL event
-- columns are samples of a process on CPU (pg_wait_sampling.sample_cpu, releases after 1.1.4).
-- %1 is the profile view, schema-qualified. Its settings are read, never set: SET changes
-- them for the whole server.
SELECT w.pid, coalesce(w.event_type, '') AS event_type, coalesce(w.event, '') AS event,
       coalesce(w.queryid, 0)::int8 AS queryid, w.count::int8 AS count,
       a.backend_type, a.usename::text AS role, a.application_name AS app,
       coalesce(a.pid = pg_backend_pid() OR a.application_name = 'htap-studio monitor', false) AS own,
       current_setting('pg_wait_sampling.profile_period')::float8 AS period_ms
FROM %1 w
LEFT JOIN pg_stat_activity a ON a.pid = w.pid
WHERE (w.event_type, w.event) IS DISTINCT FROM ('Client', 'ClientRead')
  AND w.event_type IS DISTINCT FROM 'Activity'
