-- Abuse limits (see src/rate_limits.rs): attempts counted per bucket (a hash of project, action
-- and address or account) in windows that start with a bucket's first attempt (times in epoch
-- ms), and accounts whose password sign-in is paused after repeated failures. Both are shared
-- by every instance on the database.
CREATE TABLE rate_limit_counts (
    bucket TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX rate_limit_counts_expiry ON rate_limit_counts (expires_at);

-- By the address typed (whether or not an account has it), so a lockout says nothing about
-- which addresses have accounts; `user_id` names the account it belongs to, if any.
CREATE TABLE account_lockouts (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    user_id TEXT,
    locked_until BIGINT NOT NULL,
    PRIMARY KEY (project_id, email)
);
CREATE INDEX account_lockouts_user ON account_lockouts (project_id, user_id);
