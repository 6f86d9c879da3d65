-- Sessions waiting on a lock, with who blocks them. pg_blocking_pids() is called only for Lock
-- waiters (it takes the lock manager's locks); it reports hard blockers (holding a conflicting
-- lock) and soft ones (queued ahead for a conflicting lock), and 0 for a prepared transaction.
-- The tree is built by the collector (a waiter can have several blockers: a DAG).
SELECT a.pid, a.usename AS role, a.application_name AS app, a.datname AS db, a.state,
       a.wait_event_type || ':' || a.wait_event AS wait,
       coalesce(extract(epoch FROM clock_timestamp() - a.xact_start), 0)::float8 AS xact_s,
       coalesce(extract(epoch FROM clock_timestamp() - l.waitstart), 0)::float8 AS wait_s,
       l.locktype, l.mode, l.target,
       array_to_string(pg_blocking_pids(a.pid), ',') AS blocked_by,
       left(a.query, 500) AS query
FROM pg_stat_activity a
LEFT JOIN LATERAL (
    SELECT l.locktype, l.mode, l.waitstart,
           -- regclass resolves names in the monitored database only; elsewhere show the oid
           coalesce(CASE WHEN l.database IN (0, (SELECT oid FROM pg_database WHERE datname = current_database()))
                         THEN l.relation::regclass::text
                         ELSE 'relation ' || l.relation || ' in database ' || l.database END,
                    l.transactionid::text, l.virtualxid) AS target
    FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted LIMIT 1) l ON true
WHERE a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid()
