-- Dead tuples against each table's own autovacuum trigger (threshold + scale factor *
-- reltuples, per-table reloptions honoured), freeze age, last vacuum and analyze.
-- Most urgent first; $1 = how many rows.
WITH g AS (
  SELECT current_setting('autovacuum_vacuum_threshold')::float8 AS vac_thr,
         current_setting('autovacuum_vacuum_scale_factor')::float8 AS vac_sf,
         current_setting('autovacuum_freeze_max_age')::float8 AS frz_max
), t AS (
  SELECT n.nspname, c.relname, greatest(c.reltuples, 0) AS reltuples, c.relfrozenxid,
         s.n_live_tup, s.n_dead_tup, s.n_ins_since_vacuum,
         greatest(s.last_vacuum, s.last_autovacuum) AS last_vac,
         greatest(s.last_analyze, s.last_autoanalyze) AS last_an,
         (SELECT o.option_value::float8 FROM pg_options_to_table(c.reloptions) o
           WHERE o.option_name = 'autovacuum_vacuum_threshold') AS r_vac_thr,
         (SELECT o.option_value::float8 FROM pg_options_to_table(c.reloptions) o
           WHERE o.option_name = 'autovacuum_vacuum_scale_factor') AS r_vac_sf,
         (SELECT o.option_value::float8 FROM pg_options_to_table(c.reloptions) o
           WHERE o.option_name = 'autovacuum_freeze_max_age') AS r_frz_max,
         coalesce((SELECT o.option_value::bool FROM pg_options_to_table(c.reloptions) o
           WHERE o.option_name = 'autovacuum_enabled'), true) AS av_enabled
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_stat_all_tables s ON s.relid = c.oid
  WHERE c.relkind IN ('r', 'm', 't') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
    -- The monitor's own heartbeat row (docs/replication.md): ten dead versions a second that a
    -- held horizon keeps; the monitor's footprint, not the application's vacuum lag.
    AND c.oid IS DISTINCT FROM to_regclass('htap.heartbeat')
    AND n.nspname NOT LIKE 'pg_temp%'
)
SELECT t.nspname || '.' || t.relname AS rel, t.n_live_tup, t.n_dead_tup, t.n_ins_since_vacuum,
       round(coalesce(t.r_vac_thr, g.vac_thr) + coalesce(t.r_vac_sf, g.vac_sf) * t.reltuples)::bigint AS dead_trigger,
       (100.0 * t.n_dead_tup / nullif(coalesce(t.r_vac_thr, g.vac_thr)
            + coalesce(t.r_vac_sf, g.vac_sf) * t.reltuples, 0))::float8 AS pct_of_trigger,
       age(t.relfrozenxid)::bigint AS xid_age,
       (100.0 * age(t.relfrozenxid) / coalesce(t.r_frz_max, g.frz_max))::float8 AS pct_of_freeze_max,
       extract(epoch FROM t.last_vac)::float8 AS last_vacuum_epoch,
       extract(epoch FROM t.last_an)::float8 AS last_analyze_epoch,
       t.av_enabled
FROM t CROSS JOIN g
ORDER BY pct_of_trigger DESC NULLS LAST, t.n_dead_tup DESC
LIMIT $1
