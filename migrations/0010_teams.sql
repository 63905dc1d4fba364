-- Teams in full: a member's own name and picture per team, permission grants (team-scoped per
-- membership, project-scoped per user), and images uploaded as data URLs, served by Gatehouse.

ALTER TABLE team_members ADD COLUMN display_name TEXT;
ALTER TABLE team_members ADD COLUMN profile_image_url TEXT;
CREATE INDEX team_members_team ON team_members (team_id, created_at);
CREATE INDEX teams_project_name ON teams (project_id, display_name);

-- A grant lives as long as the membership it was made in.
CREATE TABLE team_member_permissions (
    project_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    permission_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (team_id, user_id, permission_id),
    FOREIGN KEY (team_id, user_id) REFERENCES team_members (team_id, user_id) ON DELETE CASCADE
);
CREATE INDEX team_member_permissions_user ON team_member_permissions (user_id);
CREATE INDEX team_member_permissions_project ON team_member_permissions (project_id, permission_id);

CREATE TABLE user_permissions (
    project_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, permission_id)
);
CREATE INDEX user_permissions_project ON user_permissions (project_id, permission_id);

-- Named by the SHA-256 of their bytes, so the same picture is stored once and its URL never
-- changes meaning (served as immutable).
CREATE TABLE images (
    id TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    data_base64 TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
