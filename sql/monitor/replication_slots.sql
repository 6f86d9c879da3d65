SELECT slot_name AS name, slot_type AS type, active,
       coalesce(pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_receive_lsn()
                                     ELSE pg_current_wal_lsn() END, restart_lsn), 0)::bigint AS retained_bytes
FROM pg_replication_slots
