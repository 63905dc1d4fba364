//! Who may claim a fresh server. Stack's seed variables shape the dashboard's own project
//! (`STACK_SEED_INTERNAL_PROJECT_*`: sign-up, one-time codes, localhost, a first admin); with dashboard sign-up closed and no admin yet, a one-time setup link is the
//! only way in, so a server that comes up on a public address cannot be claimed by a stranger.

use crate::auth::PasswordSignUp;
use crate::crypto::{random_hex, secret_hash};
use crate::error::{Error, Result};
use crate::projects::INTERNAL_PROJECT_ID;
use crate::sessions::Tokens;
use crate::{now_ms, Core};

/// How the dashboard's own project starts out (Stack's variables; sign-up closed by default).
#[derive(Clone, Debug, Default)]
pub struct InternalSeed {
    pub sign_up_enabled: bool,
    pub otp_enabled: bool,
    pub allow_localhost: bool,
    /// A first admin to create: email and password.
    pub admin: Option<(String, String)>,
}

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
            verification_callback_url: None,
        };
        let tokens = self
            .password_sign_up_as(&internal, None, input, true)
            .await?;
        self.revoke_session_of(&tokens).await?;
        self.adopt_internal_project(&tokens.user_id).await
    }

    /// A new one-time setup token; any earlier one stops working. Only its hash is stored.
    pub async fn new_setup_token(&self) -> Result<String> {
        let token = random_hex(24);
        let mut tx = self.db.pool.begin().await?;
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO setup_tokens (token_hash, created_at) VALUES ($1, $2)")
            .bind(secret_hash(&token))
            .bind(now_ms())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Whether `token` is the live setup token of a server that has no admin yet.
    pub async fn setup_token_is_valid(&self, token: &str) -> Result<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT created_at FROM setup_tokens WHERE token_hash = $1")
                .bind(secret_hash(token))
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.is_some() && !self.has_dashboard_admin().await?)
    }

    /// The setup link's holder creates the first admin, who owns the internal project and is
    /// signed in. The token is spent.
    pub async fn claim_with_setup_token(
        &self,
        token: &str,
        email: &str,
        password: &str,
    ) -> Result<Tokens> {
        if !self.setup_token_is_valid(token).await? {
            return Err(Error::Status(
                403,
                "This setup link is not valid any more: the server already has an admin, or it was restarted and printed a new link.".into(),
            ));
        }
        let internal = self.internal_project().await?;
        let input = PasswordSignUp {
            email: email.into(),
            password: password.into(),
            verification_callback_url: None,
        };
        let tokens = self
            .password_sign_up_as(&internal, None, input, true)
            .await?;
        sqlx::query("DELETE FROM setup_tokens")
            .execute(&self.db.pool)
            .await?;
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
        sqlx::query(
            "UPDATE projects SET owner_team_id = $1 WHERE id = $2 AND owner_team_id IS NULL",
        )
        .bind(&team)
        .bind(INTERNAL_PROJECT_ID)
        .execute(&self.db.pool)
        .await?;
        self.caches
            .projects
            .remove(&INTERNAL_PROJECT_ID.to_string());
        self.forget_user_sessions(user_id);
        Ok(())
    }

    async fn internal_project(&self) -> Result<crate::projects::Project> {
        self.project(INTERNAL_PROJECT_ID)
            .await?
            .ok_or_else(|| Error::internal("the internal project is missing"))
    }

    async fn revoke_session_of(&self, tokens: &Tokens) -> Result<()> {
        sqlx::query("DELETE FROM refresh_tokens WHERE token_hash = $1")
            .bind(secret_hash(&tokens.refresh_token))
            .execute(&self.db.pool)
            .await?;
        self.forget_user_sessions(&tokens.user_id);
        Ok(())
    }
}
