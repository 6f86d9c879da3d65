SELECT gid, owner::text AS owner, database::text AS db,
       extract(epoch FROM now() - prepared)::float8 AS age_s
FROM pg_prepared_xacts ORDER BY prepared
