//! Signing in by emailed code (magic link / one-time password) and resetting a forgotten
//! password: both mail a one-time code (see [`crate::codes`]) and use it once.
//!
//! Asking for a reset answers the same whether or not the address has an account, and at the
//! same speed: the request only writes a job; looking the address up and mailing the link
//! happen in the background (`password.reset_email`).

use serde_json::{json, Value};

use crate::accounts::{open_account, AccountData, Arrival};
use crate::codes::{consume_code, issue_code, CodeKind, NewCode};
use crate::crypto;
use crate::emails::{queue_email, templates, NewEmail, Recipient};
use crate::error::{Error, Result};
use crate::jobs::NewJob;
use crate::projects::Project;
use crate::rate_limits::{Action, Subject};
use crate::sessions::Tokens;
use crate::sign_up_rules::AuthMethod;
use crate::users::contact_channels::link_with_code;
use crate::users::{parse_email, User};
use crate::Core;

pub const RESET_EMAIL_JOB: &str = "password.reset_email";

/// Codes for signing in live an hour; reset links a day.
const SIGN_IN_CODE_MS: i64 = 60 * 60 * 1000;
const RESET_CODE_MS: i64 = 24 * 60 * 60 * 1000;

fn email_to(address: &str, user_id: Option<&str>) -> Recipient {
    match user_id {
        Some(id) => Recipient::UserCustomEmails {
            user_id: id.into(),
            emails: vec![address.into()],
        },
        None => Recipient::CustomEmails {
            emails: vec![address.into()],
        },
    }
}

impl Core {
    /// `POST /auth/otp/send-sign-in-code`: mails a six-character code and a link (to
    /// `callback_url`) that sign in — or sign up, where the project allows it — and returns the
    /// nonce the client sends back with the code.
    pub async fn send_sign_in_code(
        &self,
        project: &Project,
        email: &str,
        callback_url: &str,
    ) -> Result<String> {
        if !project.config.magic_link_enabled {
            return Err(Error::Status(
                403,
                "OTP sign-in is not enabled for this project".into(),
            ));
        }
        let email = parse_email(email, "body.email")?;
        self.check_callback_url(project, callback_url)?;
        self.limit(project, Action::SendCode, Subject::Account(&email))
            .await?;
        let user = self.user_by_auth_email(&project.id, &email).await?;
        // As Stack: an account whose address is unverified is not signed in by mail (whoever
        // holds the address might not be its owner), and nobody new joins a closed project.
        if user.is_some() && !self.auth_channel_verified(&project.id, &email).await? {
            return Err(Error::UserEmailAlreadyExistsUnverified(email));
        }
        if user.is_none() && !project.config.sign_up_enabled {
            return Err(Error::SignUpNotEnabled);
        }
        let mut tx = self.begin().await?;
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind: CodeKind::OneTimePassword,
                user_id: user.as_ref().map(|u| u.id.clone()),
                method: json!({ "email": email }),
                data: json!({}),
                redirect_url: Some(callback_url.into()),
                lifetime_ms: Some(SIGN_IN_CODE_MS),
            },
        )
        .await?;
        let variables = json!({
            "otp": issued.otp(),
            "magicLink": link_with_code(callback_url, &issued.code),
        });
        let to = email_to(&email, user.as_ref().map(|u| u.id.as_str()));
        queue_email(
            &mut tx,
            &self.public_url,
            project,
            NewEmail::from_template(to, templates::MAGIC_LINK, variables),
        )
        .await?;
        tx.commit().await?;
        self.jobs_written();
        Ok(issued.nonce().to_string())
    }

    /// `POST /auth/otp/sign-in/check-code`: whether the code would sign in (not using it).
    pub async fn check_sign_in_code(&self, project: &Project, code: &str) -> Result<()> {
        self.check_code(&project.id, CodeKind::OneTimePassword, code)
            .await
            .map(|_| ())
    }

    /// `POST /auth/otp/sign-in`: uses the code; the address's account is signed in, or made
    /// through the account door when it has none (an anonymous `current` user becomes it).
    /// Returns the tokens and whether the account is new. As Stack
    /// (`ensureUserForEmailAllowsOtp`): an account whose address is unverified is refused, and
    /// one whose address is verified now also signs in with codes. `country_code`: where the
    /// request came from, when a trusted proxy says.
    pub async fn sign_in_with_code(
        &self,
        project: &Project,
        current: Option<&User>,
        code: &str,
        country_code: Option<&str>,
    ) -> Result<(Tokens, bool)> {
        let found = self
            .check_code(&project.id, CodeKind::OneTimePassword, code)
            .await?;
        let email = found.method["email"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let way = match self.user_by_auth_email(&project.id, &email).await? {
            Some(_) if !self.auth_channel_verified(&project.id, &email).await? => {
                return Err(Error::UserEmailAlreadyExistsUnverified(email))
            }
            Some(u) => Ok(u),
            None => {
                let arrival = Arrival {
                    method: AuthMethod::Otp,
                    oauth_provider: None,
                    country_code,
                    invited: false,
                    bot: 0,
                };
                Err(self
                    .admit_account(project, current, Some(&email), arrival)
                    .await?)
            }
        };
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &found).await?;
        let (user_id, is_new) = match way {
            Ok(u) => {
                if !u.otp_auth_enabled {
                    crate::users::enable_otp_auth(&mut tx, &project.id, &u.id).await?;
                }
                (u.id, false)
            }
            Err(admitted) => {
                let data = AccountData {
                    email: Some(email),
                    email_verified: true,
                    email_auth_enabled: true,
                    otp_auth_enabled: true,
                    ..AccountData::default()
                };
                (
                    open_account(&mut tx, self, project, admitted, data).await?,
                    true,
                )
            }
        };
        let tokens = self
            .commit_sign_in(tx, &project.id, user_id, is_new, "otp")
            .await?;
        Ok((tokens, is_new))
    }

    /// `POST /auth/password/send-reset-code`: the same quick answer for every address; the
    /// email (if the address has an account) is sent by a job.
    pub async fn request_password_reset(
        &self,
        project: &Project,
        email: &str,
        callback_url: &str,
    ) -> Result<()> {
        if !project.config.credential_enabled {
            return Err(Error::PasswordAuthenticationNotEnabled);
        }
        let email = parse_email(email, "body.email")?;
        self.check_callback_url(project, callback_url)?;
        self.limit(project, Action::SendCode, Subject::Account(&email))
            .await?;
        self.enqueue_job(NewJob::new(
            RESET_EMAIL_JOB,
            Some(&project.id),
            json!({ "email": email, "callback_url": callback_url }),
        ))
        .await?;
        Ok(())
    }

    /// The `password.reset_email` job: mails a reset link if the address signs in to an account.
    pub async fn run_password_reset_job(&self, project_id: &str, payload: &Value) -> Result<()> {
        let Some(project) = self.project(project_id).await? else {
            return Ok(());
        };
        let email = payload["email"].as_str().unwrap_or_default();
        let callback_url = payload["callback_url"].as_str().unwrap_or_default();
        let Some(user) = self.user_by_auth_email(&project.id, email).await? else {
            return Ok(());
        };
        let mut tx = self.begin().await?;
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind: CodeKind::PasswordReset,
                user_id: Some(user.id.clone()),
                method: json!({ "email": email }),
                data: json!({ "user_id": user.id }),
                redirect_url: Some(callback_url.into()),
                lifetime_ms: Some(RESET_CODE_MS),
            },
        )
        .await?;
        let variables = json!({ "passwordResetLink": link_with_code(callback_url, &issued.code) });
        let to = email_to(email, Some(&user.id));
        queue_email(
            &mut tx,
            &self.public_url,
            &project,
            NewEmail::from_template(to, templates::PASSWORD_RESET, variables),
        )
        .await?;
        tx.commit().await?;
        self.jobs_written();
        Ok(())
    }

    /// `POST /auth/password/reset/check-code`.
    pub async fn check_reset_code(&self, project: &Project, code: &str) -> Result<()> {
        self.check_code(&project.id, CodeKind::PasswordReset, code)
            .await
            .map(|_| ())
    }

    /// `POST /auth/password/reset`: sets the new password; every session of the user ends.
    pub async fn reset_password(
        &self,
        project: &Project,
        code: &str,
        password: String,
    ) -> Result<()> {
        crate::passwords::check_new_password(&project.config, &password)?;
        let found = self
            .check_code(&project.id, CodeKind::PasswordReset, code)
            .await?;
        let user_id = found.data["user_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let hash = crypto::hash_password(password).await?;
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &found).await?;
        // Whoever holds the reset code acts for the account.
        let who = crate::events::Who::User(user_id.clone());
        crate::users::set_password_hash(&mut tx, &project.id, &user_id, &hash, &who).await?;
        crate::sessions::end_sessions(&mut tx, &project.id, &user_id, None, &who).await?;
        tx.commit().await?;
        Ok(())
    }
}
