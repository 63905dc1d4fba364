//! The one door for new accounts. Every way in (password, emailed code, OAuth, and passkeys as
//! they come) asks [`Core::admit_account`] before its transaction and calls
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

use sqlx::{Any, Transaction};

use crate::error::{Error, Result};
use crate::projects::Project;
use crate::sign_up_rules::{Admission, AuthMethod, Facts};
use crate::users::{insert_user, write_user, NewUser, User};
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
}

impl Core {
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
        let facts = Facts::new(
            email,
            arrival.method,
            arrival.oauth_provider,
            arrival.country_code,
        );
        let admission = self.admit_sign_up(project, &facts).await?;
        Ok(Admitted {
            upgrade: current.filter(|u| u.is_anonymous).cloned(),
            admission,
        })
    }
}

/// Inside the caller's transaction: makes the account (or upgrades the anonymous one), and
/// queues its verification email. Returns the user's id. An address another account signs in
/// with is refused with `USER_EMAIL_ALREADY_EXISTS`.
pub(crate) async fn open_account(
    tx: &mut Transaction<'_, Any>,
    core: &Core,
    project: &Project,
    admitted: Admitted,
    data: AccountData,
) -> Result<String> {
    let Admitted { upgrade, admission } = admitted;
    let user_id = match upgrade {
        // Stack upgrades with the same update the server API makes: the new fields over the
        // anonymous user's, everything else (id, metadata, teams) kept.
        Some(mut u) => {
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
            insert_user(tx, project, &n).await?
        }
    };
    if let (Some(url), Some(email)) = (&data.verification_callback_url, &data.email) {
        crate::contact_channels::queue_verification_email(
            tx,
            &core.public_url,
            project,
            &user_id,
            email,
            url,
        )
        .await?;
    }
    core.forget_user_sessions(&user_id);
    Ok(user_id)
}
