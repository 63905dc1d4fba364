-- Accounts at OAuth providers linked to users (Stack's OAuth providers of a user, and connected
-- accounts), and the provider's tokens for them, sealed with a key derived from the server secret.
CREATE TABLE oauth_accounts (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider_id TEXT NOT NULL,
    account_id TEXT NOT NULL,
    email TEXT,
    allow_sign_in BIGINT NOT NULL,
    allow_connected_accounts BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX oauth_accounts_account ON oauth_accounts (project_id, provider_id, account_id);
CREATE INDEX oauth_accounts_user ON oauth_accounts (user_id, created_at);

-- kind: 'access' or 'refresh'; scopes: space-separated, as the provider granted them.
CREATE TABLE oauth_tokens (
    id TEXT PRIMARY KEY,
    oauth_account_id TEXT NOT NULL REFERENCES oauth_accounts (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    sealed_token TEXT NOT NULL,
    scopes TEXT NOT NULL,
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX oauth_tokens_account ON oauth_tokens (oauth_account_id, kind, created_at);
