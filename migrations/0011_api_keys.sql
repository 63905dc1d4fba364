-- API keys of users and teams (Stack's project API keys): only the SHA-256 of a key is kept,
-- with its last four characters to show.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    team_id TEXT REFERENCES teams (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    secret_hash TEXT NOT NULL UNIQUE,
    last_four TEXT NOT NULL,
    is_public BIGINT NOT NULL,
    expires_at BIGINT,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_keys_user ON api_keys (user_id, created_at);
CREATE INDEX api_keys_team ON api_keys (team_id, created_at);
