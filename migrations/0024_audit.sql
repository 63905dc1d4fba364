-- The audit log (see src/audit.rs): every recorded change, with where its request came from.
-- It outlives what it tells of (no foreign keys); only retention deletes from it, and the
-- per-database migrations (1002) refuse every update.
CREATE TABLE audit_log (
    project_id TEXT NOT NULL,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,
    object_id TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id TEXT,
    ip TEXT,
    user_agent TEXT,
    request_id TEXT,
    data TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, position)
);
CREATE INDEX audit_log_by_time ON audit_log (created_at);

-- How long a project keeps what is kept for a time (see src/retention.rs): 'analytics' events
-- and replays, 'audit' entries. A project without a row keeps each for its default.
CREATE TABLE retention_settings (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    log TEXT NOT NULL,
    retention_days BIGINT NOT NULL,
    PRIMARY KEY (project_id, log)
);
INSERT INTO retention_settings (project_id, log, retention_days)
    SELECT project_id, 'analytics', retention_days FROM analytics_settings;
DROP TABLE analytics_settings;
