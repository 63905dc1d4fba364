-- Analytics (see src/analytics/): events from the SDK and from the core, the client batches
-- already taken (a batch id is taken once), how far the change log has been read into
-- events, each project's retention, and session replays (rrweb events, gzipped, per chunk).
-- Times are epoch ms.
CREATE TABLE analytics_events (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    event_at BIGINT NOT NULL,
    user_id TEXT,
    team_id TEXT,
    refresh_token_id TEXT,
    session_replay_id TEXT,
    session_replay_segment_id TEXT,
    -- The event's data (JSON).
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX analytics_events_created ON analytics_events (project_id, created_at);

CREATE TABLE analytics_batches (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    batch_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, batch_id)
);

CREATE TABLE analytics_cursors (
    project_id TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    position BIGINT NOT NULL
);

CREATE TABLE analytics_settings (
    project_id TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    retention_days BIGINT NOT NULL
);

CREATE TABLE session_replays (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    refresh_token_id TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    last_event_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX session_replays_recent ON session_replays (project_id, last_event_at, id);
CREATE INDEX session_replays_session ON session_replays (project_id, refresh_token_id, updated_at);

CREATE TABLE session_replay_chunks (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    session_replay_id TEXT NOT NULL REFERENCES session_replays (id) ON DELETE CASCADE,
    batch_id TEXT NOT NULL,
    session_replay_segment_id TEXT,
    browser_session_id TEXT,
    event_count BIGINT NOT NULL,
    byte_length BIGINT NOT NULL,
    first_event_at BIGINT NOT NULL,
    last_event_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    -- The chunk's rrweb events: a gzipped JSON array; NULL when the server keeps replays in a
    -- directory (GATEHOUSE_REPLAY_STORAGE=directory: <data dir>/session-replays/<project>/<replay>/<batch>.json.gz).
    events BYTEA
);
CREATE UNIQUE INDEX session_replay_chunks_batch ON session_replay_chunks (session_replay_id, batch_id);
CREATE INDEX session_replay_chunks_order ON session_replay_chunks (session_replay_id, first_event_at, id);
