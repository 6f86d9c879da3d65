-- The last successful refresh of each view from the app's registry (htap.refresh_log).
SELECT view_name AS view, mode, extract(epoch FROM started_at)::float8 AS start_epoch,
       extract(epoch FROM finished_at)::float8 AS end_epoch,
       extract(epoch FROM finished_at - started_at)::float8 AS duration_s,
       extract(epoch FROM clock_timestamp() - started_at)::float8 AS staleness_s
FROM (SELECT DISTINCT ON (view_name) * FROM htap.refresh_log
      WHERE outcome = 'ok' ORDER BY view_name, started_at DESC) last
