-- The app's refresh registry: PostgreSQL records no refresh time for a materialized view, so
-- every refresh the app runs (by any path) is logged here. Staleness = now - the last
-- successful refresh's start. Idempotent: safe to run on every install.
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
-- Monitoring roles read the registry (the Views page, htapctl mv list).
GRANT USAGE ON SCHEMA htap TO pg_monitor;
GRANT SELECT ON htap.refresh_log TO pg_monitor;
