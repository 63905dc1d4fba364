-- Sign-up risk scores (Stack's `risk_scores.sign_up`, see src/sign_up_rules/risk.rs): what the
-- bot challenge said, and how much the sign-up looks like another free trial of someone who
-- already has an account (the address without dots and +tags, `sign_up_email_base`).
ALTER TABLE users ADD COLUMN risk_bot INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN risk_free_trial_abuse INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN sign_up_email_base TEXT;
CREATE INDEX users_sign_up_email_base ON users (project_id, sign_up_email_base);
