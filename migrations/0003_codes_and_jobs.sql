-- One-time codes (see src/codes.rs): only hashes of the code and of its nonce (all but the
-- first six characters, which emails show as a one-time password) are kept.
CREATE TABLE one_time_codes (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    nonce_hash TEXT NOT NULL,
    user_id TEXT REFERENCES users (id) ON DELETE CASCADE,
    method TEXT NOT NULL,
    data TEXT NOT NULL,
    redirect_url TEXT,
    attempts BIGINT NOT NULL,
    used_at BIGINT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX one_time_codes_code ON one_time_codes (code_hash);
CREATE INDEX one_time_codes_nonce ON one_time_codes (project_id, nonce_hash);
CREATE INDEX one_time_codes_kind ON one_time_codes (project_id, kind, created_at);

-- Durable background jobs (see src/jobs.rs), written in the transaction of the change that
-- causes them and claimed by workers with a lease.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    max_attempts BIGINT NOT NULL,
    run_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    finished_at BIGINT
);
-- Workers look for due pending jobs and for running ones whose lease ran out.
CREATE INDEX jobs_due ON jobs (status, run_at);
CREATE INDEX jobs_project ON jobs (project_id, created_at);
