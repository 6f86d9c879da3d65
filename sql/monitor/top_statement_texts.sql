-- The texts of statements about to be shown ($1: their queryids). pg_stat_statements(true)
-- reads its whole query-text file whatever the filter, so the collector asks only for
-- statements whose text it has not kept yet.
SELECT s.queryid::text AS queryid, s.userid::int8 AS userid, s.dbid::int8 AS dbid, s.query
FROM pg_stat_statements(true) s
WHERE s.toplevel AND s.queryid = ANY ($1::int8[])
