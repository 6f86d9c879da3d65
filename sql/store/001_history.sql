-- Local history (SQLite). One row per collector sample and server; the body is the sample's
-- htap-monitor-sample JSON, zlib-compressed. Server names never hold a password.
CREATE TABLE servers (
    id   INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);
CREATE TABLE samples (
    server_id INTEGER NOT NULL REFERENCES servers (id),
    ts        INTEGER NOT NULL,          -- ms since the epoch, server clock
    body      BLOB NOT NULL,
    PRIMARY KEY (server_id, ts)
) WITHOUT ROWID;
