-- pg_wait_sampling's profile: samples counted per (pid, wait event, queryid) since its last
-- reset, summed here over queryid (the collector does not use it; one row per pid and event
-- instead of one per statement), with who the pid is now (NULL for one that is gone: the
-- collector remembers it). The collector diffs successive reads by (pid, event); a pid used
-- again by a new session continues its old rows' counts. Only pids alive now or at the
-- previous read ($1, an int array) are sent, unless $2 (a baseline: the whole profile, so that
-- a pid used again later is diffed against its old counts): the rows of sessions long gone
-- never change. Idle waits are left out here: a client's ClientRead (waiting for the next
-- statement) and background processes' Activity:*Main. NULL event columns are samples of a
-- process on CPU (pg_wait_sampling.sample_cpu, releases after 1.1.4). %1 is the profile view,
-- schema-qualified. Its settings are read, never set: SET changes them for the whole server.
SELECT w.pid, w.event_type, w.event, w.count,
       a.backend_type, a.usename::text AS role, a.application_name AS app,
       coalesce(a.pid = pg_backend_pid() OR a.application_name = 'htap-studio monitor', false) AS own,
       current_setting('pg_wait_sampling.profile_period')::float8 AS period_ms
FROM (SELECT p.pid, coalesce(p.event_type, '') AS event_type, coalesce(p.event, '') AS event, sum(p.count)::int8 AS count
      FROM %1 p
      WHERE (p.event_type, p.event) IS DISTINCT FROM ('Client', 'ClientRead')
        AND p.event_type IS DISTINCT FROM 'Activity'
      GROUP BY 1, 2, 3) w
LEFT JOIN pg_stat_activity a ON a.pid = w.pid
WHERE $2 OR a.pid IS NOT NULL OR w.pid = ANY ($1::int[])
