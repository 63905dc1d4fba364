-- The email outbox: every email a project sends, rendered when queued and sent by the
-- `email.send` job written in the same transaction. Kept after sending: the dashboard shows it
-- (the dev inbox, when no SMTP server is configured anywhere), and the REST outbox lists it.
CREATE TABLE emails (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    -- Stack's recipient: {"type": "user-primary-email", "user_id"} and the like (JSON).
    recipient TEXT NOT NULL,
    -- The addresses it goes to (JSON list), resolved when it was rendered.
    to_addresses TEXT NOT NULL,
    user_id TEXT,
    template_id TEXT,
    source TEXT NOT NULL,
    theme_id TEXT,
    variables TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    text TEXT NOT NULL,
    notification_category_id TEXT,
    is_transactional BIGINT NOT NULL,
    is_high_priority BIGINT NOT NULL,
    -- queued | scheduled | paused | sending | sent | server-error | skipped
    status TEXT NOT NULL,
    -- Where a sent email went: smtp, or inbox (kept only here, for the dashboard).
    delivered_via TEXT,
    send_retries BIGINT NOT NULL,
    -- Each failed attempt (JSON list), as Stack reports them.
    send_attempt_errors TEXT,
    server_error TEXT,
    skipped_reason TEXT,
    scheduled_at BIGINT NOT NULL,
    rendered_at BIGINT NOT NULL,
    started_sending_at BIGINT,
    finished_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX emails_project ON emails (project_id, created_at);
