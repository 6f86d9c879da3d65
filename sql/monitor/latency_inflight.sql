-- Statements still running, per role and application (pg_stat_statements counts them only when
-- they finish).
SELECT usename AS role, application_name AS app, count(*) AS active,
       coalesce(max(extract(epoch FROM clock_timestamp() - query_start)), 0)::float8 AS oldest_s
FROM pg_stat_activity
WHERE state = 'active' AND backend_type = 'client backend' AND pid <> pg_backend_pid()
GROUP BY 1, 2
