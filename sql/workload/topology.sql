-- What a scenario run samples once a second when a workload reads from a standby (docs/scenario.md).
-- name: standby_lag
-- On the primary: the chosen standby's replay lag (NULL when no WAL flowed lately) and the WAL it
-- has still to replay.
SELECT extract(epoch FROM replay_lag)::float8 AS replay_s,
       pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn)::bigint AS replay_bytes
FROM pg_stat_replication WHERE application_name = $1
ORDER BY replay_lsn DESC NULLS LAST LIMIT 1
-- name: standby_state
-- On the standby given or chosen: that it is one, and the name its primary knows it by.
SELECT pg_is_in_recovery() AS standby, current_setting('cluster_name') AS cluster_name
-- name: data_age
-- On the standby: how old the data its readers see is (now minus the last heartbeat replayed).
SELECT extract(epoch FROM clock_timestamp() - ts)::float8 AS age FROM htap.heartbeat WHERE id = 1
-- name: conflicts
-- On the standby: the queries its recovery cancelled in this database, all causes.
SELECT coalesce(sum(confl_tablespace + confl_lock + confl_snapshot + confl_bufferpin + confl_deadlock), 0)::bigint
FROM pg_stat_database_conflicts WHERE datname = current_database()
