-- Webhooks (see src/webhooks/): a project's endpoints, the messages made from its change log,
-- and every delivery attempt. Ids are shaped as Svix's (`ep_…`, `msg_…`, `atmpt_…`).

CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL,
    -- A JSON array of event types; NULL: every type.
    event_types TEXT,
    disabled BIGINT NOT NULL,
    -- The `whsec_` signing secret, sealed with the server's key; after a rotation the previous
    -- one keeps signing beside it until `previous_secret_until`.
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until BIGINT,
    -- When the current run of failed attempts began (NULL: the last attempt succeeded).
    failing_since BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX webhook_endpoints_project ON webhook_endpoints (project_id, created_at);

-- One message per webhook-worthy change (its log position) or per message sent by hand.
CREATE TABLE webhook_messages (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    position BIGINT,
    event_type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (project_id, position)
);
CREATE INDEX webhook_messages_project ON webhook_messages (project_id, created_at);

CREATE TABLE webhook_attempts (
    id TEXT PRIMARY KEY,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    -- `success` or `fail`.
    status TEXT NOT NULL,
    response_status_code BIGINT NOT NULL,
    response TEXT NOT NULL,
    duration_ms BIGINT NOT NULL,
    -- `scheduled` or `manual` (a replay).
    trigger_type TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, created_at);
CREATE INDEX webhook_attempts_message ON webhook_attempts (message_id, created_at);

-- How far each project's change log has been made into messages.
CREATE TABLE webhook_cursors (
    project_id TEXT PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
    position BIGINT NOT NULL
);
