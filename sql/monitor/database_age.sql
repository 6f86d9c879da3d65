SELECT d.datname AS db, age(d.datfrozenxid)::bigint AS xid_age,
       (100.0 * age(d.datfrozenxid) / 2147483648)::float8 AS pct_to_wraparound,
       (100.0 * age(d.datfrozenxid) / current_setting('autovacuum_freeze_max_age')::float8)::float8 AS pct_to_forced
FROM pg_database d WHERE d.datallowconn ORDER BY xid_age DESC
