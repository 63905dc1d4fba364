-- The record of every change (see src/events.rs): one row per change, in each project's order.
-- No foreign keys: the log outlives what it records (a deleted project's or user's history stays
-- readable for audit).
CREATE TABLE events (
    project_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, position)
);

-- Each project's last position; its row serialises the project's writers of events.
CREATE TABLE event_positions (
    project_id TEXT PRIMARY KEY,
    last BIGINT NOT NULL
);
