-- pg_stat_kcache's CPU time (user and system, planning included) of top-level statements,
-- summed per role on the server, so that a second's read stays a few rows however many
-- statements there are. The collector diffs the sums; a sum that went down (entries evicted or
-- reset) drops that role's interval. The function, not the pg_stat_kcache_detail view: the
-- view joins pg_stat_statements and loses what a pg_stat_statements_reset() dropped there
-- while pg_stat_kcache kept it. The monitor's own statements are left out: $1, the queryids
-- of its role's statements that are its own (an int8 array). %1 is the function,
-- schema-qualified.
SELECT coalesce(r.rolname::text, k.userid::text) AS role,
       sum(k.exec_user_time + k.plan_user_time)::float8 AS user_s,
       sum(k.exec_system_time + k.plan_system_time)::float8 AS system_s
FROM %1() k
LEFT JOIN pg_roles r ON r.oid = k.userid
WHERE k.top
  AND NOT (k.userid = (SELECT oid FROM pg_roles WHERE rolname = current_user) AND k.queryid = ANY ($1::int8[]))
GROUP BY 1
