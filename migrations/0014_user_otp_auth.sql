-- Whether the user signs in with emailed codes (Stack's OTP auth method): set when an account
-- is made or signed in to by an emailed code, or by the server API's `otp_auth_enabled`.
ALTER TABLE users ADD COLUMN otp_auth_enabled BIGINT NOT NULL DEFAULT 0;
