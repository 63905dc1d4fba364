-- The one-time link that lets its holder create a fresh server's first dashboard admin.
-- Only the SHA-256 of the token is kept; a new start replaces it.
CREATE TABLE setup_tokens (
    token_hash TEXT PRIMARY KEY,
    created_at BIGINT NOT NULL
);
