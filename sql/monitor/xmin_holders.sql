-- Everything that holds the xmin horizon back, oldest first: backends (their snapshot or
-- their own xid), prepared transactions, replication slots (xmin holds back all cleanup,
-- catalog_xmin only system catalogs), and standbys with hot_standby_feedback. A backend's
-- statement comes apart from its detail: the collector masks it before anything keeps it.
WITH h AS (
  SELECT 'backend'::text AS kind, a.pid::text AS holder, a.datname::text AS db, a.usename::text AS role,
         a.application_name::text AS app,
         coalesce(a.state, a.backend_type) AS state,
         CASE WHEN age(a.backend_xid) > coalesce(age(a.backend_xmin), -1) THEN a.backend_xid ELSE a.backend_xmin END AS hx,
         a.xact_start AS since, a.backend_type::text AS detail, left(a.query, 200) AS query, a.pid
  FROM pg_stat_activity a
  WHERE (a.backend_xmin IS NOT NULL OR a.backend_xid IS NOT NULL) AND a.pid <> pg_backend_pid()
  UNION ALL
  SELECT 'prepared_xact', p.gid, p.database::text, p.owner::text, NULL, 'prepared', p.transaction, p.prepared,
         'COMMIT PREPARED or ROLLBACK PREPARED ' || quote_literal(p.gid) || ' releases it', NULL, NULL
  FROM pg_prepared_xacts p
  UNION ALL
  -- A physical slot's xmin is a standby's hot_standby_feedback: held while the standby runs
  -- queries, and kept while it is down.
  SELECT 'slot_xmin', s.slot_name::text, s.database::text, NULL, coalesce(r.application_name, s.plugin)::text,
         CASE WHEN s.active THEN 'active' ELSE 'inactive' END, s.xmin, r.backend_start,
         CASE WHEN s.slot_type = 'physical'
              THEN 'hot_standby_feedback of standby ' || coalesce(r.application_name, '(not connected: the slot keeps its hold)')
              ELSE s.slot_type || ' slot' END, NULL, s.active_pid
  FROM pg_replication_slots s LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
  WHERE s.xmin IS NOT NULL
  UNION ALL
  SELECT 'slot_catalog_xmin', s.slot_name::text, s.database::text, NULL, s.plugin::text,
         CASE WHEN s.active THEN 'active' ELSE 'inactive' END, s.catalog_xmin, NULL,
         s.slot_type || ' slot (holds back catalog cleanup only)', NULL, s.active_pid
  FROM pg_replication_slots s WHERE s.catalog_xmin IS NOT NULL
  UNION ALL
  SELECT 'standby_feedback', r.application_name, NULL, r.usename::text, r.application_name, r.state, r.backend_xmin, r.backend_start,
         'hot_standby_feedback from ' || coalesce(r.client_addr::text, 'local'), NULL, r.pid
  FROM pg_stat_replication r WHERE r.backend_xmin IS NOT NULL
)
SELECT kind, holder, coalesce(db, '') AS db, coalesce(role, '') AS role, coalesce(app, '') AS app,
       coalesce(state, '') AS state,
       age(hx)::bigint AS xid_age, coalesce(extract(epoch FROM clock_timestamp() - since), 0)::float8 AS held_s,
       detail, query, coalesce(pid, 0) AS pid
FROM h ORDER BY age(hx) DESC NULLS LAST, held_s DESC
