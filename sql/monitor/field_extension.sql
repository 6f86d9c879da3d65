-- Whether an optional extension ($1) can be read here: its schema when this database has it,
-- whether the server has its files, and the libraries the running server preloads (a
-- postgresql.conf edited but not yet followed by a restart still shows the old list here,
-- which is what matters). Catalogs only: a missing extension costs no failed statement.
SELECT (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = $1) AS schema,
       EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = $1) AS available,
       current_setting('shared_preload_libraries') AS preload
