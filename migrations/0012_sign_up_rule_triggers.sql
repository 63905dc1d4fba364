-- How often each sign-up rule matched, counted per hour (the start of the hour, in ms), for the
-- dashboard's chart and the all-time totals.
CREATE TABLE sign_up_rule_triggers (
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    rule_id TEXT NOT NULL,
    action TEXT NOT NULL,
    hour BIGINT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (project_id, rule_id, action, hour)
);
