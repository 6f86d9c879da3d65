-- Server-wide activity, one row. Counters are cumulative: the collector turns them into rates
-- using the real elapsed time between two samples (sampled_epoch is the server's clock_timestamp).
-- The monitor's own sessions (this one and those named 'htap-studio monitor') are left out of
-- the session counts.
SELECT extract(epoch FROM clock_timestamp())::float8 AS sampled_epoch,
       d.xact_commit, d.xact_rollback, d.stats_reset_epoch, d.blks_hit, d.blks_read,
       d.tup_read, d.tup_written, d.temp_files, d.temp_bytes,
       (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END
            - '0/0'::pg_lsn)::float8 AS wal_bytes,
       a.active, a.idle, a.idle_in_transaction, a.idle_in_transaction_aborted, a.other, a.waiting_on_lock,
       a.wait_events
FROM (SELECT sum(xact_commit)::bigint AS xact_commit,
             sum(xact_rollback)::bigint AS xact_rollback,
             coalesce(max(extract(epoch FROM stats_reset)), 0)::float8 AS stats_reset_epoch,
             sum(blks_hit)::bigint AS blks_hit, sum(blks_read)::bigint AS blks_read,
             sum(tup_returned + tup_fetched)::bigint AS tup_read,
             sum(tup_inserted + tup_updated + tup_deleted)::bigint AS tup_written,
             sum(temp_files)::bigint AS temp_files, sum(temp_bytes)::bigint AS temp_bytes
      FROM pg_stat_database) d,
     (SELECT count(*) FILTER (WHERE state = 'active') AS active,
             count(*) FILTER (WHERE state = 'idle') AS idle,
             count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction,
             count(*) FILTER (WHERE state = 'idle in transaction (aborted)') AS idle_in_transaction_aborted,
             count(*) FILTER (WHERE state NOT IN ('active', 'idle', 'idle in transaction',
                                                  'idle in transaction (aborted)')) AS other,
             count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_on_lock,
             coalesce((SELECT string_agg(t || '=' || n, ',') FROM (
                 SELECT wait_event_type AS t, count(*) AS n FROM pg_stat_activity
                 WHERE state = 'active' AND wait_event_type IS NOT NULL AND pid <> pg_backend_pid()
                   AND backend_type = 'client backend' AND application_name <> 'htap-studio monitor'
                 GROUP BY 1) w), '') AS wait_events
      FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
        AND application_name <> 'htap-studio monitor') a
