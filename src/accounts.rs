//! The one door for new accounts. Every way in (password, emailed code, OAuth, and passkeys)
//! asks [`Core::admit_account`] before its transaction and calls
//! [`open_account`] inside it, as Stack's `createOrUpgradeAnonymousUserWithRules`
//! (`apps/backend/src/lib/users.tsx`) serves all of its sign-up paths: sign-up must be open
//! (unless an invitation lets the person in), the project's sign-up rules decide, a signed-in
//! anonymous user is upgraded in place instead of a second account made, a rule may restrict
//! the account, and the new user gets the personal team, default permissions and primary
//! contact channel that every new user gets ([`crate::users::insert_user`]), with the
//! verification email queued in the same transaction.
//!
//! A way in adds nothing of its own here: what differs between methods is the data it brings
//! ([`AccountData`]) and the facts the rules see ([`Arrival`]).
//!
//! Changes that span an account's rows of several layers (a user update that ends their
//! sessions) are composed here too, above users and sessions.

use serde_json::json;

use crate::crypto;
use crate::db::json_text;
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::sessions::{SignIn, Tokens, DEFAULT_SESSION_MS};
use crate::sign_up_rules::{risk, Admission, AuthMethod, Facts};
use crate::users::{
    insert_user, parse_email, set_sign_up_risk, write_user, NewUser, RiskScores, User, UserCreate,
    UserUpdate,
};
use crate::Core;

/// How a person arrives: what the sign-up rules are told.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arrival<'a> {
    pub method: AuthMethod,
    pub oauth_provider: Option<&'a str>,
    pub country_code: Option<&'a str>,
    /// An invitation's code lets the person in where the project has closed sign-up (the
    /// invited address, proven by the code; the holder of the server's setup link).
    pub invited: bool,
    /// What the bot challenge said (`riskScores.bot`; see [`crate::bot_challenge`]).
    pub bot: u8,
}

/// What the new account holds, whichever way it came in.
#[derive(Debug, Default)]
pub(crate) struct AccountData {
    pub email: Option<String>,
    pub email_verified: bool,
    /// The email signs in (password or codes); false for a second account an OAuth merge
    /// strategy allows beside the one that owns the address.
    pub email_auth_enabled: bool,
    pub otp_auth_enabled: bool,
    pub password_hash: Option<String>,
    pub display_name: Option<String>,
    pub profile_image_url: Option<String>,
    pub language: Option<String>,
    /// Mail a verification link to this callback, in the same transaction.
    pub verification_callback_url: Option<String>,
}

/// A person let in by [`Core::admit_account`]: the account to upgrade, if any, and what the
/// rules said.
#[derive(Debug)]
pub(crate) struct Admitted {
    upgrade: Option<User>,
    admission: Admission,
    risk: RiskScores,
    email_base: Option<String>,
}

impl Core {
    /// `POST /users` (server access): Stack's server create, through the same steps as every
    /// new account (no sign-up rules, and sign-up need not be open: the server decides).
    pub async fn create_user(
        &self,
        project: &Project,
        input: UserCreate,
        who: &Who,
    ) -> Result<User> {
        crate::users::check_passkey_flag(input.passkey_auth_enabled)?;
        use crate::users::{check_display_name, check_otp_allowed, check_restriction, check_url};
        let email = input
            .primary_email
            .as_deref()
            .map(|e| parse_email(e, "body.primary_email"))
            .transpose()?;
        check_display_name(&input.display_name)?;
        check_url(&input.profile_image_url, "profile_image_url")?;
        let password_hash = match (input.password, input.password_hash) {
            (Some(pw), _) => {
                crate::passwords::check_new_password(&project.config, &pw)?;
                Some(crypto::hash_password(pw).await?)
            }
            (None, Some(hash)) => {
                crypto::check_importable_hash(&hash)?;
                Some(hash)
            }
            (None, None) => None,
        };
        let restricted = input.restricted_by_admin.unwrap_or(false);
        check_restriction(
            restricted,
            &input.restricted_by_admin_reason,
            &input.restricted_by_admin_private_details,
        )?;
        let otp_auth_enabled = input.otp_auth_enabled.unwrap_or(false);
        check_otp_allowed(project, otp_auth_enabled)?;
        let totp_secret = input
            .totp_secret_base64
            .as_deref()
            .map(|s| self.seal_totp_secret(s, "body.totp_secret_base64"))
            .transpose()?;
        let mut new = NewUser {
            // Stack's server create uses the address for sign-in only when told to.
            auth_enabled: input.primary_email_auth_enabled.unwrap_or(false),
            otp_auth_enabled,
            email,
            email_verified: input.primary_email_verified.unwrap_or(false),
            display_name: input.display_name,
            profile_image_url: input.profile_image_url,
            password_hash,
            client_metadata: json_text(input.client_metadata),
            client_read_only_metadata: json_text(input.client_read_only_metadata),
            server_metadata: json_text(input.server_metadata),
            is_anonymous: input.is_anonymous.unwrap_or(false),
            restricted_by_admin: restricted,
            restricted_by_admin_reason: input.restricted_by_admin_reason,
            restricted_by_admin_private_details: input.restricted_by_admin_private_details,
            language: None,
            totp_secret,
        };
        let mut tx = self.begin().await?;
        new.profile_image_url = crate::images::store(
            &mut tx,
            &self.public_url,
            new.profile_image_url.take(),
            "profile_image_url",
        )
        .await?;
        let id = insert_account(&mut tx, project, &new, Some(who)).await?;
        tx.commit().await?;
        self.user(&project.id, &id)
            .await?
            .ok_or_else(|| Error::internal("user vanished after insert"))
    }

    /// `POST /auth/anonymous/sign-up`: an anonymous user, signed in. As Stack's, it meets no
    /// sign-up rules and is made even where sign-up is closed.
    pub async fn anonymous_sign_up(&self, project: &Project) -> Result<Tokens> {
        let n = NewUser {
            is_anonymous: true,
            ..NewUser::default()
        };
        let mut tx = self.begin().await?;
        let user_id = insert_account(&mut tx, project, &n, None).await?;
        let sign_in = SignIn {
            method: "anonymous",
            new_user: true,
        };
        self.commit_with_session(
            tx,
            &project.id,
            user_id,
            DEFAULT_SESSION_MS,
            false,
            None,
            Some(sign_in),
        )
        .await
    }

    /// Whether this project takes new accounts now: `SIGN_UP_NOT_ENABLED` where it has closed
    /// sign-up, also to an anonymous user who would upgrade, as Stack answers.
    pub(crate) fn sign_up_open(&self, project: &Project, invited: bool) -> Result<()> {
        if project.config.sign_up_enabled || invited {
            Ok(())
        } else {
            Err(Error::SignUpNotEnabled)
        }
    }

    /// Before the caller's transaction: sign-up open, then the sign-up rules (which count what
    /// matched, and refuse with `SIGN_UP_REJECTED`). `current` is the signed-in user, upgraded
    /// in place when anonymous.
    pub(crate) async fn admit_account(
        &self,
        project: &Project,
        current: Option<&User>,
        email: Option<&str>,
        arrival: Arrival<'_>,
    ) -> Result<Admitted> {
        self.sign_up_open(project, arrival.invited)?;
        let email_base = email.and_then(risk::email_base);
        let risk = RiskScores {
            bot: arrival.bot,
            free_trial_abuse: self
                .free_trial_abuse(&project.id, email_base.as_deref())
                .await?,
        };
        let facts = Facts::new(
            email,
            arrival.method,
            arrival.oauth_provider,
            arrival.country_code,
        )
        .with_risk(risk);
        let admission = self.admit_sign_up(project, &facts).await?;
        Ok(Admitted {
            upgrade: current.filter(|u| u.is_anonymous).cloned(),
            admission,
            risk,
            email_base,
        })
    }
}

/// Writes a new user with what every new user gets, as Stack's `usersCrudHandlers.adminCreate`
/// does for each way in and the server API: the row and primary contact channel, the project's
/// default permissions (`rbac.defaultPermissions.signUp`), and the personal team (for every new
/// user, anonymous ones too: Stack's `createPersonalTeamIfEnabled`), selected.
pub(crate) async fn insert_account(
    tx: &mut Tx,
    project: &Project,
    n: &NewUser,
    who: Option<&Who>,
) -> Result<String> {
    let id = insert_user(tx, project, n).await?;
    let who = who.cloned().unwrap_or_else(|| Who::User(id.clone()));
    events::record(
        tx,
        &project.id,
        &who,
        Change::new("user.created", &id, json!({})),
    )
    .await?;
    for permission in crate::teams::permissions::default_grants(project, "signUp") {
        crate::teams::permissions::insert_user_grant(tx, &project.id, &id, &permission, &who)
            .await?;
    }
    if project.config.create_team_on_sign_up {
        let name = crate::teams::personal_team_name(n.display_name.as_deref(), n.email.as_deref());
        crate::teams::create_personal_team(tx, project, &id, &name, &who).await?;
    }
    Ok(id)
}

/// Inside the caller's transaction: makes the account (or upgrades the anonymous one), and
/// queues its verification email. Returns the user's id. An address another account signs in
/// with is refused with `USER_EMAIL_ALREADY_EXISTS`.
pub(crate) async fn open_account(
    tx: &mut Tx,
    core: &Core,
    project: &Project,
    admitted: Admitted,
    data: AccountData,
) -> Result<String> {
    let Admitted {
        upgrade,
        admission,
        risk,
        email_base,
    } = admitted;
    let user_id = match upgrade {
        // Stack upgrades with the same update the server API makes: the new fields over the
        // anonymous user's, everything else (id, metadata, teams) kept.
        Some(mut u) => {
            let before = u.clone();
            admission.restrict(
                &mut u.restricted_by_admin,
                &mut u.restricted_by_admin_private_details,
            );
            u.is_anonymous = false;
            u.primary_email = data.email.clone();
            u.primary_email_verified = data.email_verified;
            u.primary_email_auth_enabled = data.email_auth_enabled;
            u.otp_auth_enabled |= data.otp_auth_enabled;
            if data.password_hash.is_some() {
                u.password_hash = data.password_hash;
            }
            if u.display_name.is_none() {
                u.display_name = data.display_name;
            }
            if u.profile_image_url.is_none() {
                u.profile_image_url = data.profile_image_url;
            }
            if data.language.is_some() {
                u.language = data.language;
            }
            write_user(tx, &u).await?;
            let who = Who::User(u.id.clone());
            events::record(
                tx,
                &project.id,
                &who,
                Change::new(
                    "user.updated",
                    &u.id,
                    json!({ "fields": crate::users::changed_fields(&before, &u) }),
                ),
            )
            .await?;
            u.id
        }
        None => {
            let mut n = NewUser {
                email: data.email.clone(),
                email_verified: data.email_verified,
                auth_enabled: data.email_auth_enabled,
                otp_auth_enabled: data.otp_auth_enabled,
                password_hash: data.password_hash,
                display_name: data.display_name,
                profile_image_url: data.profile_image_url,
                language: data.language,
                ..NewUser::default()
            };
            admission.restrict(
                &mut n.restricted_by_admin,
                &mut n.restricted_by_admin_private_details,
            );
            insert_account(tx, project, &n, None).await?
        }
    };
    set_sign_up_risk(tx, &user_id, risk, email_base.as_deref()).await?;
    if let (Some(url), Some(email)) = (&data.verification_callback_url, &data.email) {
        crate::users::contact_channels::queue_verification_email(
            tx,
            &core.public_url,
            project,
            &user_id,
            email,
            url,
        )
        .await?;
    }
    Ok(user_id)
}

impl Core {
    /// Applies an update to a user (`PATCH /users/…`, the hosted account page, the dashboard).
    /// A new password ends every session: whoever knew the old one is signed out.
    pub async fn update_user(
        &self,
        project: &Project,
        user: &User,
        input: UserUpdate,
        who: &Who,
    ) -> Result<User> {
        let (updated, password_changed) =
            self.prepare_user_update(project, user, input, who).await?;
        let totp_changed = updated.totp_secret != user.totp_secret;
        let passkeys_gone = user.passkey_auth_enabled && !updated.passkey_auth_enabled;
        let mut tx = self.begin().await?;
        crate::users::write_user_update(&mut tx, &self.public_url, &project.id, user, updated, who)
            .await?;
        if password_changed {
            crate::sessions::end_sessions(&mut tx, &project.id, &user.id, None, who).await?;
        }
        if totp_changed {
            crate::mfa::forget_second_factor(&mut tx, &user.id).await?;
        }
        if passkeys_gone {
            crate::users::delete_passkeys(&mut tx, &user.id).await?;
        }
        tx.commit().await?;
        self.user(&project.id, &user.id)
            .await?
            .ok_or(Error::UserNotFound)
    }
}
