-- CLI sign-in (see src/cli_auth.rs): a terminal waits, polling, while its person confirms in a
-- browser. Both codes are stored hashed; the session made for the terminal (and an anonymous
-- session the terminal started with) are kept sealed only until the terminal takes them.
CREATE TABLE cli_auth_attempts (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    polling_code_hash TEXT NOT NULL UNIQUE,
    login_code_hash TEXT NOT NULL UNIQUE,
    anon_refresh_token TEXT,
    refresh_token TEXT,
    completed_at BIGINT,
    used_at BIGINT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX cli_auth_attempts_expiry ON cli_auth_attempts (expires_at);
