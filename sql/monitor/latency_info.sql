-- Reset and eviction markers of pg_stat_statements (PG14+).
SELECT coalesce(extract(epoch FROM stats_reset), 0)::float8 AS reset_epoch, dealloc FROM pg_stat_statements_info
