SELECT application_name AS name, state,
       coalesce(extract(epoch FROM write_lag), 0)::float8 AS write_s,
       coalesce(extract(epoch FROM flush_lag), 0)::float8 AS flush_s,
       coalesce(extract(epoch FROM replay_lag), 0)::float8 AS replay_s,
       coalesce(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint AS replay_bytes
FROM pg_stat_replication
