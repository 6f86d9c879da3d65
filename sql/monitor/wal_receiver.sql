-- On a standby: where it streams from and how old what it has replayed is. sender_host and
-- sender_port need pg_read_all_stats (pg_monitor has it); replay_age_s is now minus the commit
-- time of the last transaction replayed, so it grows on an idle primary too.
SELECT status, sender_host, sender_port, coalesce(slot_name, '') AS slot_name,
       extract(epoch FROM clock_timestamp() - last_msg_receipt_time)::float8 AS since_message_s,
       extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8 AS replay_age_s,
       -- received but not replayed yet: replay waits (a recovery conflict) or is slower than the primary
       coalesce(pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()), 0)::bigint AS replay_gap_bytes
FROM pg_stat_wal_receiver
