-- On a standby: the queries recovery cancelled (or whose sessions it ended), by cause, since the
-- standby's statistics were reset; all databases (a report may run in any). The primary's view
-- stays 0: conflicts happen on standbys only.
SELECT coalesce(sum(confl_snapshot), 0)::bigint   AS snapshot,
       coalesce(sum(confl_lock), 0)::bigint       AS lock,
       coalesce(sum(confl_bufferpin), 0)::bigint  AS bufferpin,
       coalesce(sum(confl_deadlock), 0)::bigint   AS deadlock,
       coalesce(sum(confl_tablespace), 0)::bigint AS tablespace
FROM pg_stat_database_conflicts
