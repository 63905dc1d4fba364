//! Who may claim a fresh server. Stack's seed variables shape the dashboard's own project
//! (`STACK_SEED_INTERNAL_PROJECT_*`: sign-up, one-time codes, localhost, a first admin); with dashboard sign-up closed and no admin yet, a one-time setup link is the
//! only way in, so a server that comes up on a public address cannot be claimed by a stranger.

use serde_json::json;

use crate::codes::{consume_code, issue_code, Code, CodeKind, NewCode};
use crate::error::{Error, Result};
pub use crate::projects::InternalSeed;
use crate::projects::INTERNAL_PROJECT_ID;
use crate::sessions::Tokens;
use crate::sign_up::PasswordSignUp;
use crate::Core;

impl Core {
    /// Whether the dashboard has an admin: any signed-up user of the internal project.
    pub async fn has_dashboard_admin(&self) -> Result<bool> {
        let row: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM users WHERE project_id = $1 AND is_anonymous = 0 LIMIT 1",
        )
        .bind(INTERNAL_PROJECT_ID)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(row.is_some())
    }

    /// Creates the seed's first admin if no user has that email yet, owner of the internal
    /// project (so its settings, dashboard sign-up among them, are theirs to change).
    pub async fn seed_first_admin(&self, email: &str, password: &str) -> Result<()> {
        let internal = self.internal_project().await?;
        if self
            .user_by_auth_email(INTERNAL_PROJECT_ID, &email.trim().to_lowercase())
            .await?
            .is_some()
        {
            return Ok(());
        }
        let input = PasswordSignUp {
            email: email.into(),
            password: password.into(),
            ..PasswordSignUp::default()
        };
        let tokens = self
            .password_sign_up_as(&internal, None, input, true)
            .await?;
        self.revoke_session_of(&tokens).await?;
        self.adopt_internal_project(&tokens.user_id).await
    }

    /// A new one-time setup code (see [`crate::codes`]); any earlier one stops working.
    pub async fn new_setup_token(&self) -> Result<String> {
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM one_time_codes WHERE project_id = $1 AND kind = $2")
            .bind(INTERNAL_PROJECT_ID)
            .bind(CodeKind::DashboardSetup.as_str())
            .execute(&mut *tx)
            .await?;
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: INTERNAL_PROJECT_ID.into(),
                kind: CodeKind::DashboardSetup,
                user_id: None,
                method: json!({}),
                data: json!({}),
                redirect_url: None,
                lifetime_ms: None,
            },
        )
        .await?;
        tx.commit().await?;
        Ok(issued.code)
    }

    /// The live setup code `token` names, while the server has no admin yet.
    async fn setup_code(&self, token: &str) -> Result<Option<Code>> {
        if self.has_dashboard_admin().await? {
            return Ok(None);
        }
        match self
            .check_code(INTERNAL_PROJECT_ID, CodeKind::DashboardSetup, token)
            .await
        {
            Ok(code) => Ok(Some(code)),
            Err(e)
                if e.code()
                    .is_some_and(|c| c.starts_with("VERIFICATION_CODE_")) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether `token` is the live setup code of a server that has no admin yet.
    pub async fn setup_token_is_valid(&self, token: &str) -> Result<bool> {
        Ok(self.setup_code(token).await?.is_some())
    }

    /// The setup link's holder creates the first admin, who owns the internal project and is
    /// signed in. The code is spent.
    pub async fn claim_with_setup_token(
        &self,
        token: &str,
        email: &str,
        password: &str,
    ) -> Result<Tokens> {
        let Some(code) = self.setup_code(token).await? else {
            return Err(Error::Status(
                403,
                "This setup link is not valid any more: the server already has an admin, or it was restarted and printed a new link.".into(),
            ));
        };
        let internal = self.internal_project().await?;
        let input = PasswordSignUp {
            email: email.into(),
            password: password.into(),
            ..PasswordSignUp::default()
        };
        // Signing up first: a refused password leaves the link working for another try.
        let tokens = self
            .password_sign_up_as(&internal, None, input, true)
            .await?;
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &code).await?;
        tx.commit().await?;
        self.adopt_internal_project(&tokens.user_id).await?;
        Ok(tokens)
    }

    /// Makes a user's team the owner of the internal project, if nobody owns it yet.
    async fn adopt_internal_project(&self, user_id: &str) -> Result<()> {
        let internal = self.internal_project().await?;
        if internal.owner_team_id.is_some() {
            return Ok(());
        }
        let team = self.owning_team_of(user_id).await?;
        let who = crate::events::Who::User(user_id.to_string());
        self.give_internal_project_to(&team, &who).await?;
        Ok(())
    }

    async fn revoke_session_of(&self, tokens: &Tokens) -> Result<()> {
        self.revoke_refresh_token(&tokens.refresh_token, &crate::events::Who::System)
            .await?;
        Ok(())
    }
}
