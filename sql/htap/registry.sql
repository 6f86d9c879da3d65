-- The app's refresh registry: PostgreSQL records no refresh time for a materialized view, so
-- every refresh the app runs (by any path) is logged here. Staleness = now - the last
-- successful refresh's start. Idempotent: safe to run on every install.
SELECT pg_advisory_xact_lock(1213481296, 0); -- one installer at a time
CREATE SCHEMA IF NOT EXISTS htap;

CREATE TABLE IF NOT EXISTS htap.refresh_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    view_name    text NOT NULL,          -- schema || '.' || name, unquoted (a label, as the Views page shows it)
    mode         text NOT NULL CHECK (mode IN ('plain', 'concurrent', 'incremental', 'rebuild')),
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    rows         bigint,
    outcome      text NOT NULL CHECK (outcome IN ('running', 'ok', 'failed', 'cancelled')),
    sqlstate     text,
    message      text,
    by_role      text NOT NULL DEFAULT current_user,
    by_app       text DEFAULT current_setting('application_name')
);
CREATE INDEX IF NOT EXISTS refresh_log_view_started ON htap.refresh_log (view_name, started_at DESC);
-- The session that ran a refresh: a 'running' row whose session is gone was interrupted.
ALTER TABLE htap.refresh_log ADD COLUMN IF NOT EXISTS pid int DEFAULT pg_backend_pid();
-- Every mv command and the Views page (every 30 s) look for those: a week of merges is
-- hundreds of thousands of rows to scan, the running ones a handful.
CREATE INDEX IF NOT EXISTS refresh_log_running ON htap.refresh_log (pid) WHERE outcome = 'running';
-- Monitoring roles read the registry (the Views page, htapctl mv list).
GRANT USAGE ON SCHEMA htap TO pg_monitor;
GRANT SELECT ON htap.refresh_log TO pg_monitor;

-- Refresh schedules: run by HTAP Studio while it is connected (runner 'app'), or by pg_cron
-- where that extension is installed (runner 'pg_cron', its job id kept here).
CREATE TABLE IF NOT EXISTS htap.refresh_schedule (
    view_name     text PRIMARY KEY,            -- schema || '.' || name, as in refresh_log
    mode          text NOT NULL CHECK (mode IN ('plain', 'concurrent', 'incremental')),
    every_seconds int NOT NULL CHECK (every_seconds BETWEEN 1 AND 604800),
    runner        text NOT NULL DEFAULT 'app' CHECK (runner IN ('app', 'pg_cron')),
    cron_jobid    bigint,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    updated_by    text NOT NULL DEFAULT current_user
);
GRANT SELECT ON htap.refresh_schedule TO pg_monitor;
-- Merges of incremental views (runner 'app' only): cadence 'fixed' merges every every_seconds;
-- 'adaptive' treats every_seconds as the view's freshness target and merges when the oldest
-- unmerged change, plus what a merge takes, would reach it (no merge while nothing is pending).
-- merge_nice > 0 runs the merges in a session at that lower CPU priority (the prioritize
-- extension), so that the writers win the CPU.
ALTER TABLE htap.refresh_schedule ADD COLUMN IF NOT EXISTS cadence text NOT NULL DEFAULT 'fixed';
ALTER TABLE htap.refresh_schedule ADD COLUMN IF NOT EXISTS merge_nice int NOT NULL DEFAULT 0;
DO $$ BEGIN
    ALTER TABLE htap.refresh_schedule ADD CONSTRAINT refresh_schedule_cadence
        CHECK (cadence IN ('fixed', 'adaptive') AND merge_nice BETWEEN 0 AND 19
               AND (cadence = 'fixed' AND merge_nice = 0 OR (mode = 'incremental' AND runner = 'app')));
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- A refresh that logs itself, for schedulers that run SQL (pg_cron): the same registry rows
-- as the app's refreshes. Incremental views are merged.
CREATE OR REPLACE FUNCTION htap.refresh_view(p_view regclass, p_mode text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    v_label text;
    v_start timestamptz := clock_timestamp();
    v_merge text;
    v_rebuild text;
BEGIN
    SELECT n.nspname || '.' || c.relname INTO v_label
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = p_view;
    IF p_mode = 'incremental' THEN
        -- An engine still being enabled has no view yet: the name is its materialized view's.
        SELECT merge_function,
               CASE WHEN state = 'needs_rebuild' THEN coalesce(reason, 'flagged') ELSE htap.ivm_blocker(view_id) END
        INTO v_merge, v_rebuild
        FROM htap.ivm_views WHERE view_schema || '.' || view_name = v_label AND state <> 'building';
        IF v_merge IS NULL THEN
            RAISE EXCEPTION '% is not maintained incrementally', v_label;
        END IF;
        -- Merging would report success on a view that stays wrong (changes slipped by capture).
        IF v_rebuild IS NOT NULL THEN
            RAISE EXCEPTION '% needs a full rebuild (%): a merge cannot make it exact', v_label, v_rebuild
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'Rebuild it: htapctl mv refresh VIEW --mode rebuild, or Full rebuild on the Views page.';
        END IF;
        EXECUTE format('SELECT %s()', v_merge);
        RETURN;
    END IF;
    BEGIN
        EXECUTE format('REFRESH MATERIALIZED VIEW %s%s', CASE WHEN p_mode = 'concurrent' THEN 'CONCURRENTLY ' END, p_view);
        INSERT INTO htap.refresh_log (view_name, mode, started_at, finished_at, rows, outcome)
        SELECT v_label, p_mode, v_start, clock_timestamp(), reltuples::bigint, 'ok' FROM pg_class WHERE oid = p_view;
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO htap.refresh_log (view_name, mode, started_at, finished_at, outcome, sqlstate, message)
        VALUES (v_label, p_mode, v_start, clock_timestamp(),
                CASE WHEN SQLSTATE = '57014' THEN 'cancelled' ELSE 'failed' END, SQLSTATE, SQLERRM);
    END;
END $$;

-- The heartbeat: a monitor connected to a primary sets ts to the server's clock every 100 ms
-- (HeartbeatWriter); a standby's readers see data as old as now minus the ts it replayed.
-- One row rewritten in place: fillfactor leaves room for HOT updates.
CREATE TABLE IF NOT EXISTS htap.heartbeat (
    id int PRIMARY KEY CHECK (id = 1),
    ts timestamptz NOT NULL
) WITH (fillfactor = 50);
GRANT SELECT ON htap.heartbeat TO pg_monitor;
