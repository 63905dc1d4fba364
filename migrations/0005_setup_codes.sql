-- The setup link is a one-time code now (kind DASHBOARD_SETUP); a start without an admin
-- prints a new one.
DROP TABLE setup_tokens;
