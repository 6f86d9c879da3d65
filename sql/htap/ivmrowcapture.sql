-- Capture mode c of the incremental engine (see htap.ivm_views.capture_mode and docs/ivm.md,
-- "Capture modes"): which views can capture per row, what the htap_capture extension's row
-- trigger runs, and the switch between the modes. Runs after ivm.sql (it uses its helpers) and
-- is the last of the engine's scripts (pg::engineScripts()): it stamps the registry's version.
-- Idempotent: safe to run on every enable.
SELECT pg_advisory_xact_lock(1213481296, 0);

-- A view's INSERT and DELETE capture statements can run per row (capture mode c) when each
-- reads its transition table once, as "FROM __ivm_new __ivm_r)" (or __ivm_old), and nothing
-- else: the row trigger puts the changed table in its place. NULL when they can; else why not.
CREATE OR REPLACE FUNCTION htap.ivm_row_capture_blocker(p_view int) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE
        WHEN NOT EXISTS (SELECT 1 FROM htap.ivm_capture k WHERE k.view_id = p_view AND cardinality(k.statements) > 0)
            THEN 'its engine predates shared capture (generation 6): disable and enable incremental maintenance first'
        ELSE (SELECT format('its %s capture of %s reads more than the changed rows', split_part(x.st, '|', 1), k.root::regclass)
              FROM htap.ivm_capture k, unnest(k.statements) x(st)
              WHERE k.view_id = p_view AND split_part(x.st, '|', 1) IN ('INSERT', 'DELETE')
                AND NOT (regexp_count(x.st, '__ivm_(new|old)') = 1 AND regexp_count(x.st, 'FROM __ivm_(new|old) __ivm_r\)') = 1)
              ORDER BY k.table_index LIMIT 1)
    END;
$$;

-- What the row trigger of capture mode c runs on p_rel (p_root or one of its members) for each
-- view in that mode: its INSERT and DELETE statements, and for an UPDATE the DELETE statement
-- on the old row and the INSERT statement (a join's dimension without one: the DELETE
-- statement) on the new row, each over "ONLY p_rel" instead of the transition table and with
-- the columns under their current names; watched: the columns whose change an UPDATE is
-- captured for. One view reads the table once per table_index (a self-join reads it twice).
-- Read by htap_capture (src/pgext/htap_capture) when a session plans the capture.
DROP FUNCTION IF EXISTS htap.ivm_capture_row_statements(oid, oid);
CREATE OR REPLACE FUNCTION htap.ivm_capture_row_statements(p_root oid, p_rel oid,
    OUT view_id int, OUT table_index int, OUT event text, OUT sql text, OUT watched text[])
RETURNS SETOF record LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH st AS (
        SELECT k.view_id, k.table_index, k.current_names, split_part(x.st, '|', 1) AS ev,
               -- The changed rows first, the columns after: a column's name cannot be taken for the marker.
               htap.ivm_render(regexp_replace(substr(x.st, strpos(x.st, '|') + 1), 'FROM __ivm_(new|old) __ivm_r\)',
                                              'FROM ONLY ' || replace(p_rel::regclass::text, '\', '\\') || ' __ivm_r)'),
                   (SELECT coalesce(string_agg(format('__ivm_r.%I AS %I', u.cur, u.orig), ', ' ORDER BY u.i), '')
                    FROM unnest(k.current_names, k.names) WITH ORDINALITY u(cur, orig, i))) AS body
        FROM htap.ivm_capture k JOIN htap.ivm_views v ON v.view_id = k.view_id, unnest(k.statements) x(st)
        WHERE k.root = p_root AND v.capture_on AND v.capture_mode = 'c'
          -- A table that left the root (NO INHERIT) with a trigger still on it captures nothing.
          AND p_rel IN (WITH RECURSIVE down(oid) AS (SELECT p_root UNION SELECT h.inhrelid FROM pg_inherits h JOIN down ON h.inhparent = down.oid)
                        SELECT down.oid FROM down)
    )
    SELECT s.view_id, s.table_index, e.event, s.body, CASE WHEN e.event LIKE 'UPDATE%' THEN s.current_names END
    FROM st s CROSS JOIN LATERAL (VALUES (s.ev), ('UPDATE_OLD'), ('UPDATE_NEW')) e(event)
    WHERE (e.event = s.ev AND s.ev IN ('INSERT', 'DELETE'))
       OR (EXISTS (SELECT 1 FROM st u WHERE u.view_id = s.view_id AND u.table_index = s.table_index AND u.ev = 'UPDATE')
           AND ((e.event = 'UPDATE_OLD' AND s.ev = 'DELETE')
                OR (e.event = 'UPDATE_NEW' AND (s.ev = 'INSERT' OR (s.ev = 'DELETE' AND NOT EXISTS (
                        SELECT 1 FROM st i WHERE i.view_id = s.view_id AND i.table_index = s.table_index AND i.ev = 'INSERT'))))))
    ORDER BY s.view_id, s.table_index, e.event;
$$;

-- Switches a view's capture mode (see htap.ivm_views.capture_mode), in the caller's
-- transaction: htap.ivm_capture_sync takes each table's lock, so every writer either finished
-- before this commits or captures the new way; no change is lost or captured twice. Mode c
-- needs the htap_capture extension, and every capture statement planned per row for the table
-- and each member (htap.ivm_capture_row_check) before it commits.
CREATE OR REPLACE FUNCTION htap.ivm_set_capture_mode(p_view int, p_mode text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_why text;
BEGIN
    IF p_mode IS NULL OR p_mode NOT IN ('sql', 'c') THEN
        RAISE EXCEPTION 'capture mode must be sql or c, not %', coalesce(p_mode, 'NULL') USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT 1 FROM htap.ivm_views WHERE view_id = p_view) THEN
        RAISE EXCEPTION 'no incremental view with id %', p_view USING ERRCODE = 'undefined_object';
    END IF;
    IF p_mode = 'c' THEN
        IF to_regprocedure('htap.ivm_capture_row()') IS NULL THEN
            RAISE EXCEPTION 'capture mode c needs the htap_capture extension in this database'
                USING ERRCODE = 'undefined_function',
                      HINT = 'Install HTAP Studio''s server package on the database server, then CREATE EXTENSION htap_capture as a superuser.';
        END IF;
        v_why := htap.ivm_row_capture_blocker(p_view);
        IF v_why IS NOT NULL THEN
            RAISE EXCEPTION 'this view cannot capture in mode c: %', v_why USING ERRCODE = 'feature_not_supported';
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM htap.ivm_capture WHERE view_id = p_view AND cardinality(statements) > 0) THEN
        RETURN; -- engines before generation 6 capture with triggers of their own: nothing to switch
    END IF;
    UPDATE htap.ivm_views SET capture_mode = p_mode WHERE view_id = p_view AND capture_mode <> p_mode;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    -- It plans the row capture of every table in mode c (htap.ivm_capture_row_check): a view
    -- it cannot serve fails the switch here, with the reason.
    PERFORM htap.ivm_capture_sync(ARRAY(SELECT DISTINCT root FROM htap.ivm_capture WHERE view_id = p_view));
END $$;

-- The switch runs with its owner's rights; the statements are for the extension, which reads
-- them as the engine's owner.
REVOKE ALL ON FUNCTION htap.ivm_set_capture_mode(int, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION htap.ivm_capture_row_statements(oid, oid) FROM PUBLIC;

-- What the app checks before running the engine's scripts again (bump with every change to
-- registry.sql, ivm.sql or this file).
CREATE OR REPLACE FUNCTION htap.registry_version() RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT 15';
