-- Snapshots kept in the history file beside the samples they were made from (issue 7). The
-- body is the htap-snapshot JSON, zlib-compressed; the other columns are for lists.
CREATE TABLE snapshots (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at  INTEGER NOT NULL,   -- ms since the epoch
    title       TEXT NOT NULL,
    server      TEXT NOT NULL,
    window_from INTEGER NOT NULL,   -- ms since the epoch, server clock
    window_to   INTEGER NOT NULL,
    file        TEXT NOT NULL DEFAULT '',  -- where it was also written, if anywhere
    body        BLOB NOT NULL
);
