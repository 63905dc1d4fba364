-- Passkeys (see src/passkeys.rs): a user's WebAuthn credentials, discoverable, each with a name.
-- `users.passkey_auth_enabled` (Stack's field: whether the user has one) is kept beside them so
-- reading a user costs nothing more.
ALTER TABLE users ADD COLUMN passkey_auth_enabled BIGINT NOT NULL DEFAULT 0;

CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    -- base64url, as browsers name credentials.
    credential_id TEXT NOT NULL,
    -- webauthn-rs's record of the credential: its public key and signature counter.
    passkey TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE UNIQUE INDEX passkeys_credential ON passkeys (project_id, credential_id);
CREATE INDEX passkeys_user ON passkeys (user_id);
