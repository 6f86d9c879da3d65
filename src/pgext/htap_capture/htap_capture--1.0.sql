-- HTAP Studio's capture in C (src/pgext/htap_capture/htap_capture.c). The schema htap is the
-- engine's; the engine's own functions (sql/htap/ivm.sql) decide which views use it.
\echo Use "CREATE EXTENSION htap_capture" to load this file. \quit

-- The AFTER ROW trigger of a captured table (argument: the captured table's oid), put on the
-- table by htap.ivm_capture_sync for the views whose capture mode is c.
CREATE FUNCTION ivm_capture_row() RETURNS trigger
LANGUAGE c AS 'MODULE_PATHNAME', 'htap_ivm_capture_row';

-- Plans the capture of every member of a captured table that row triggers fire on, and
-- returns how many statements it planned: an error names what cannot run per row.
CREATE FUNCTION ivm_capture_row_check(regclass) RETURNS int
LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'htap_ivm_capture_row_check';

-- Makes every session plan a captured table's row capture again (its registry changed).
CREATE FUNCTION ivm_capture_row_reset(regclass) RETURNS void
LANGUAGE c STRICT AS 'MODULE_PATHNAME', 'htap_ivm_capture_row_reset';

-- Only the engine's owner (granted by HTAP Studio when it creates the extension) uses them: the
-- trigger writes into the engine's delta tables without checking the writer's privileges.
REVOKE ALL ON FUNCTION ivm_capture_row() FROM PUBLIC;
REVOKE ALL ON FUNCTION ivm_capture_row_check(regclass) FROM PUBLIC;
REVOKE ALL ON FUNCTION ivm_capture_row_reset(regclass) FROM PUBLIC;
