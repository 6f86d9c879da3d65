-- The audit log of changes HTAP Studio made to a server's roles (SQLite, audit.sqlite). Never
-- pruned. plan holds the htap-role-plan JSON: every role's before and after, the statements
-- sent (a password never: the wizard's plans carry '********' in its place).
CREATE TABLE role_changes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,            -- ms since the epoch, this computer's clock
    server     TEXT NOT NULL,               -- user@host:port/db, no password
    server_key TEXT NOT NULL,               -- host:port
    applied_by TEXT NOT NULL,               -- the database user that applied it
    kind       TEXT NOT NULL,               -- apply, undo, reset, wizard
    title      TEXT NOT NULL,
    roles      TEXT NOT NULL,               -- the roles it touched, for lists and filters (JSON array)
    status     TEXT NOT NULL,               -- applying, applied, failed, undone
    message    TEXT NOT NULL DEFAULT '',
    undo_of    INTEGER REFERENCES role_changes (id),
    plan       TEXT NOT NULL
);
CREATE INDEX role_changes_server ON role_changes (server_key, id);
