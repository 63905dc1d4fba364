-- A user's email addresses. The primary one is copied into users.primary_email* (read and
-- searched on every request); both are written in one transaction. An address signs in to
-- one account of a project at most.
CREATE TABLE contact_channels (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type TEXT NOT NULL,
    value TEXT NOT NULL,
    is_verified BIGINT NOT NULL,
    is_primary BIGINT NOT NULL,
    used_for_auth BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX contact_channels_user ON contact_channels (user_id, created_at);
CREATE UNIQUE INDEX contact_channels_of_user ON contact_channels (user_id, type, value);
CREATE UNIQUE INDEX contact_channels_auth ON contact_channels (project_id, type, value) WHERE used_for_auth = 1;

-- Existing users' primary emails become their primary channels (the user's id serves as the
-- channel's: one each, and both are UUIDs).
INSERT INTO contact_channels (id, project_id, user_id, type, value, is_verified, is_primary, used_for_auth, created_at)
SELECT id, project_id, id, 'email', primary_email, primary_email_verified, 1, primary_email_auth_enabled, signed_up_at
FROM users WHERE primary_email IS NOT NULL;
