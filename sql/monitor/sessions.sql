-- Client sessions by what they do now, for the per-class signals: every session that runs a
-- statement or sits inside a transaction, one row each; idle ones counted per role and
-- application (pid 0). The monitor's own sessions (this one, and those named
-- 'htap-studio monitor') are counted apart (pid -1) and left out of the rest. Parallel
-- workers, autovacuum and walsenders are not client backends.
WITH a AS (
    SELECT pid, usename::text AS role, application_name AS app, state,
           coalesce(wait_event_type || ':' || wait_event, '') AS wait,
           CASE WHEN state = 'active' THEN extract(epoch FROM clock_timestamp() - query_start) END AS stmt_s,
           extract(epoch FROM clock_timestamp() - xact_start) AS xact_s,
           pid = pg_backend_pid() OR application_name = 'htap-studio monitor' AS own
    FROM pg_stat_activity
    WHERE backend_type = 'client backend')
SELECT pid, coalesce(role, '') AS role, app, coalesce(state, '') AS state, wait,
       stmt_s::float8, xact_s::float8, 1 AS n
FROM a WHERE NOT own AND state IS DISTINCT FROM 'idle'
UNION ALL
SELECT 0, coalesce(role, ''), app, 'idle', '', NULL, NULL, count(*)
FROM a WHERE NOT own AND state = 'idle' GROUP BY 2, 3
UNION ALL
SELECT -1, '', 'htap-studio monitor', '', '', NULL, NULL, count(*) FROM a WHERE own
