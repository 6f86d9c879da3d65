-- The texts of statements about to be shown, or of the monitor's role's statements whose
-- owner is not known yet ($1: their queryids). pg_stat_statements(true) reads its whole
-- query-text file whatever the filter, so the collector asks only for entries it has not seen.
-- own: the text begins with the tag the collector puts before its statements ($2); its text is
-- not sent.
SELECT s.queryid::text AS queryid, s.userid::int8 AS userid, s.dbid::int8 AS dbid,
       starts_with(s.query, $2) AS own,
       CASE WHEN NOT starts_with(s.query, $2) THEN s.query END AS query
FROM pg_stat_statements(true) s
WHERE s.toplevel AND s.queryid = ANY ($1::int8[])
