-- Incidents found from the samples (a target missed, a blocking episode, a server not
-- answering, a view past its freshness target). One row per incident, rewritten while it
-- lasts; the body is its JSON (monitor/incidents.h).
CREATE TABLE incidents (
    server_id    INTEGER NOT NULL REFERENCES servers (id),
    incident_key TEXT NOT NULL,     -- kind/subject/start: the same incident across updates
    kind         TEXT NOT NULL,
    started      INTEGER NOT NULL,  -- ms since the epoch
    ended        INTEGER,           -- NULL while it lasts
    body         TEXT NOT NULL,
    PRIMARY KEY (server_id, incident_key)
) WITHOUT ROWID;
CREATE INDEX incidents_by_time ON incidents (server_id, started);
