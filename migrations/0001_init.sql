-- Portable DDL: runs unchanged on SQLite and PostgreSQL. Ids are TEXT, times are epoch
-- milliseconds (BIGINT), flags are BIGINT 0/1 (the Any driver reads no SQLite booleans),
-- JSON is TEXT, secrets are stored only as SHA-256 hashes.

CREATE TABLE projects (
    id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    description TEXT NOT NULL,
    owner_team_id TEXT,
    config TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE api_key_sets (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    description TEXT NOT NULL,
    publishable_client_key_hash TEXT,
    publishable_client_key_last_four TEXT,
    secret_server_key_hash TEXT,
    secret_server_key_last_four TEXT,
    super_secret_admin_key_hash TEXT,
    super_secret_admin_key_last_four TEXT,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX api_key_sets_project ON api_key_sets (project_id, created_at);
CREATE UNIQUE INDEX api_key_sets_pck ON api_key_sets (publishable_client_key_hash);
CREATE UNIQUE INDEX api_key_sets_ssk ON api_key_sets (secret_server_key_hash);
CREATE UNIQUE INDEX api_key_sets_sak ON api_key_sets (super_secret_admin_key_hash);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    primary_email TEXT,
    primary_email_verified BIGINT NOT NULL,
    primary_email_auth_enabled BIGINT NOT NULL,
    display_name TEXT,
    profile_image_url TEXT,
    password_hash TEXT,
    client_metadata TEXT,
    client_read_only_metadata TEXT,
    server_metadata TEXT,
    selected_team_id TEXT,
    is_anonymous BIGINT NOT NULL,
    restricted_by_admin BIGINT NOT NULL,
    restricted_by_admin_reason TEXT,
    restricted_by_admin_private_details TEXT,
    signed_up_at BIGINT NOT NULL,
    last_active_at BIGINT NOT NULL
);
-- Keyset pagination and the users table sort by these; no OFFSET scans.
CREATE INDEX users_signed_up ON users (project_id, signed_up_at, id);
CREATE INDEX users_last_active ON users (project_id, last_active_at, id);
CREATE INDEX users_email ON users (project_id, primary_email);
-- One account per sign-in email in a project.
CREATE UNIQUE INDEX users_auth_email ON users (project_id, primary_email) WHERE primary_email_auth_enabled = 1;

CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    is_impersonation BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, created_at);

CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    display_name TEXT NOT NULL,
    profile_image_url TEXT,
    client_metadata TEXT,
    client_read_only_metadata TEXT,
    server_metadata TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX teams_project ON teams (project_id, created_at);

CREATE TABLE team_members (
    team_id TEXT NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user ON team_members (user_id);
