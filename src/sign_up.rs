//! Password sign-up: a way in through the account door ([`crate::accounts`]). Signing in,
//! changing and setting passwords are the auth module's; resetting one, the emailed codes'.

use serde::Deserialize;

use crate::accounts::{open_account, AccountData, Arrival};
use crate::auth::password;
use crate::bot_challenge::BotChallengeFields;
use crate::crypto;
use crate::error::{Error, Result};
use crate::projects::Project;
use crate::sessions::Tokens;
use crate::sign_up_rules::AuthMethod;
use crate::users::{parse_email, User};
use crate::validation::{string, Input, Shape};
use crate::Core;

#[derive(Debug, Default, Deserialize)]
pub struct PasswordSignUp {
    pub email: String,
    pub password: String,
    /// Where the verification email links to (the project must trust it); none: no email.
    #[serde(default)]
    pub verification_callback_url: Option<String>,
    /// The language of the person's browser (hosted sign-up); not read from request bodies.
    #[serde(skip)]
    pub language: Option<String>,
    /// The country the request came from, where a trusted proxy says (for sign-up rules); not
    /// read from request bodies.
    #[serde(skip)]
    pub country_code: Option<String>,
    /// The address is proven already (an invitation's code was mailed to it); not read from
    /// request bodies.
    #[serde(skip)]
    pub email_proven: bool,
    /// Stack's `bot_challenge_token`, `_phase`, `_unavailable` (see [`crate::bot_challenge`]).
    #[serde(flatten)]
    pub bot_challenge: BotChallengeFields,
}

impl Input for PasswordSignUp {
    fn shape(_: bool) -> Shape {
        Shape::new()
            .field("email", string().strict_email().defined())
            .field("password", password().defined())
            .field("verification_callback_url", string().url())
            .bot_challenge()
    }
}

impl Core {
    /// Signs a new user up with email and password. Signed in anonymously, the same user is
    /// upgraded instead (their id, data and teams stay).
    pub async fn password_sign_up(
        &self,
        project: &Project,
        current: Option<&User>,
        input: PasswordSignUp,
    ) -> Result<Tokens> {
        self.password_sign_up_as(project, current, input, false)
            .await
    }

    /// Password sign-up; `invited` lets a sign-up through where the project has closed it (an
    /// invitation's recipient, the holder of the server's setup link). The order of refusals
    /// is Stack's (`auth/password/sign-up/route.tsx`): password sign-in off, an untrusted
    /// callback, sign-up closed, a weak password, then the account door (rules, an address
    /// already in use).
    pub(crate) async fn password_sign_up_as(
        &self,
        project: &Project,
        current: Option<&User>,
        input: PasswordSignUp,
        invited: bool,
    ) -> Result<Tokens> {
        if !project.config.credential_enabled && !invited {
            return Err(Error::PasswordAuthenticationNotEnabled);
        }
        let email = parse_email(&input.email, "body.email")?;
        if let Some(url) = &input.verification_callback_url {
            self.check_callback_url(project, url)?;
        }
        self.sign_up_open(project, invited)?;
        crate::passwords::check_new_password(&project.config, &input.password)?;
        // Someone invited (or holding the setup link) was asked for by name: no puzzle.
        let bot = if invited {
            0
        } else {
            self.assess_bot(project, &input.bot_challenge).await?
        };
        let arrival = Arrival {
            method: AuthMethod::Password,
            oauth_provider: None,
            country_code: input.country_code.as_deref(),
            invited,
            bot,
        };
        let admitted = self
            .admit_account(project, current, Some(&email), arrival)
            .await?;
        let data = AccountData {
            email: Some(email),
            email_verified: input.email_proven,
            email_auth_enabled: true,
            password_hash: Some(crypto::hash_password(input.password).await?),
            language: input.language,
            verification_callback_url: input.verification_callback_url,
            ..AccountData::default()
        };
        let mut tx = self.begin().await?;
        let user_id = open_account(&mut tx, self, project, admitted, data).await?;
        // An anonymous user with a second factor who signs up is asked for it too.
        let signed_in = self
            .commit_sign_in(tx, &project.id, user_id, true, "password")
            .await;
        self.jobs_written();
        signed_in
    }
}
