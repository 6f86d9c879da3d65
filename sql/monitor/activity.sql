-- Server-wide activity, one row. Counters are cumulative: the collector turns them into rates
-- using the real elapsed time between two samples (sampled_epoch is the server's clock_timestamp).
-- The monitoring session itself is left out of the session counts.
SELECT extract(epoch FROM clock_timestamp())::float8 AS sampled_epoch,
       d.xact_commit, d.xact_rollback, d.stats_reset_epoch,
       a.active, a.idle, a.idle_in_transaction, a.idle_in_transaction_aborted, a.other, a.waiting_on_lock
FROM (SELECT sum(xact_commit)::bigint AS xact_commit,
             sum(xact_rollback)::bigint AS xact_rollback,
             coalesce(max(extract(epoch FROM stats_reset)), 0)::float8 AS stats_reset_epoch
      FROM pg_stat_database) d,
     (SELECT count(*) FILTER (WHERE state = 'active') AS active,
             count(*) FILTER (WHERE state = 'idle') AS idle,
             count(*) FILTER (WHERE state = 'idle in transaction') AS idle_in_transaction,
             count(*) FILTER (WHERE state = 'idle in transaction (aborted)') AS idle_in_transaction_aborted,
             count(*) FILTER (WHERE state NOT IN ('active', 'idle', 'idle in transaction',
                                                  'idle in transaction (aborted)')) AS other,
             count(*) FILTER (WHERE wait_event_type = 'Lock') AS waiting_on_lock
      FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()) a
