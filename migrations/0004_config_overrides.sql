-- A project's settings as Stack's config tree: one override per level (project, branch,
-- environment), each a JSON object of dotted keys, laid over the defaults in that order.
-- `source` records where a branch override was pushed from. `projects.config` held the
-- settings before; the server moves what it finds there into these rows on its first start
-- and leaves '{}' behind.
CREATE TABLE config_overrides (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    level TEXT NOT NULL,
    body TEXT NOT NULL,
    source TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (project_id, level)
);
