//! Contact channels: a user's email addresses — which is primary, which are verified, which
//! they may sign in with — and their verification by emailed code.
//!
//! The user's `primary_email*` fields are the primary channel; the users table keeps a copy
//! (searched and read on every request), written in the same transaction as the channel, in
//! both directions: [`sync_from_user`] after a user write, [`sync_user`] after a channel write.
//! An address may sign in to one account of a project only (a unique index).

use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::codes::{consume_code, issue_code, CodeKind, NewCode};
use crate::db::is_unique_violation;
use crate::emails::{queue_email, templates, NewEmail, Recipient};
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::{new_id, now_ms, Core};

#[derive(Clone, Debug, PartialEq)]
pub struct ContactChannel {
    pub id: String,
    pub user_id: String,
    pub value: String,
    pub is_verified: bool,
    pub is_primary: bool,
    pub used_for_auth: bool,
}

impl ContactChannel {
    pub fn view(&self) -> Value {
        json!({
            "user_id": self.user_id,
            "id": self.id,
            "value": self.value,
            "type": "email",
            "used_for_auth": self.used_for_auth,
            "is_verified": self.is_verified,
            "is_primary": self.is_primary,
        })
    }
}

impl sqlx::FromRow<'_, AnyRow> for ContactChannel {
    fn from_row(r: &AnyRow) -> sqlx::Result<ContactChannel> {
        Ok(ContactChannel {
            id: r.try_get("id")?,
            user_id: r.try_get("user_id")?,
            value: r.try_get("value")?,
            is_verified: r.try_get::<i64, _>("is_verified")? != 0,
            is_primary: r.try_get::<i64, _>("is_primary")? != 0,
            used_for_auth: r.try_get::<i64, _>("used_for_auth")? != 0,
        })
    }
}

const COLUMNS: &str = "id, user_id, value, is_verified, is_primary, used_for_auth";

/// A channel to add (`POST /contact-channels`).
#[derive(Clone, Debug)]
pub struct ChannelCreate {
    pub user_id: String,
    pub value: String,
    pub used_for_auth: bool,
    pub is_primary: bool,
    pub is_verified: bool,
}

/// A change to a channel (`PATCH /contact-channels/{user_id}/{id}`); `None` leaves as is.
#[derive(Clone, Debug, Default)]
pub struct ChannelUpdate {
    pub value: Option<String>,
    pub used_for_auth: Option<bool>,
    pub is_primary: Option<bool>,
    pub is_verified: Option<bool>,
}

fn already_used(value: &str) -> Error {
    Error::ContactChannelAlreadyUsedForAuthBySomeoneElse {
        value: value.to_string(),
        would_work_if_email_was_verified: false,
    }
}

async fn channels_of(tx: &mut Tx, user_id: &str) -> Result<Vec<ContactChannel>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM contact_channels WHERE user_id = $1 ORDER BY created_at, id"
    ))
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Makes the user's primary channel match their `primary_email*` fields (after a user write).
pub(crate) async fn sync_from_user(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    email: Option<&str>,
    verified: bool,
    auth: bool,
) -> Result<()> {
    let channels = channels_of(tx, user_id).await?;
    let primary = channels.iter().find(|c| c.is_primary);
    let Some(email) = email else {
        if let Some(p) = primary {
            sqlx::query("DELETE FROM contact_channels WHERE id = $1")
                .bind(&p.id)
                .execute(&mut **tx)
                .await?;
        }
        return Ok(());
    };
    if let Some(p) = primary {
        if p.value == email && p.is_verified == verified && p.used_for_auth == auth {
            return Ok(());
        }
    }
    // Another channel of theirs with this address becomes the primary one.
    let target = channels
        .iter()
        .find(|c| c.value == email)
        .or(primary)
        .map(|c| c.id.clone());
    sqlx::query("UPDATE contact_channels SET is_primary = 0 WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    let res = match target {
        Some(id) => {
            sqlx::query(
                "UPDATE contact_channels SET value = $2, is_verified = $3, used_for_auth = $4, is_primary = 1 WHERE id = $1",
            )
            .bind(&id)
            .bind(email)
            .bind(verified as i64)
            .bind(auth as i64)
            .execute(&mut **tx)
            .await
        }
        None => {
            sqlx::query(
                "INSERT INTO contact_channels (id, project_id, user_id, type, value, is_verified, is_primary, used_for_auth, created_at) \
                 VALUES ($1, $2, $3, 'email', $4, $5, 1, $6, $7)",
            )
            .bind(new_id())
            .bind(project_id)
            .bind(user_id)
            .bind(email)
            .bind(verified as i64)
            .bind(auth as i64)
            .bind(now_ms())
            .execute(&mut **tx)
            .await
        }
    };
    match res {
        Ok(_) => Ok(()),
        Err(e) if is_unique_violation(&e) => Err(Error::UserEmailAlreadyExists(email.into())),
        Err(e) => Err(e.into()),
    }
}

/// Copies the primary channel into the user's `primary_email*` fields (after a channel write);
/// when they change, that is the user's change too (`user.updated`).
async fn sync_user(tx: &mut Tx, project_id: &str, who: &Who, user_id: &str) -> Result<()> {
    let channels = channels_of(tx, user_id).await?;
    let primary = channels.iter().find(|c| c.is_primary);
    let wanted = (
        primary.map(|c| c.value.clone()),
        primary.is_some_and(|c| c.is_verified) as i64,
        primary.is_some_and(|c| c.used_for_auth) as i64,
    );
    let current: Option<(Option<String>, i64, i64)> = sqlx::query_as(
        "SELECT primary_email, primary_email_verified, primary_email_auth_enabled FROM users WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    if current.as_ref() == Some(&wanted) {
        return Ok(());
    }
    let res = sqlx::query(
        "UPDATE users SET primary_email = $2, primary_email_verified = $3, primary_email_auth_enabled = $4 WHERE id = $1",
    )
    .bind(user_id)
    .bind(&wanted.0)
    .bind(wanted.1)
    .bind(wanted.2)
    .execute(&mut **tx)
    .await;
    match res {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e) => {
            return Err(already_used(wanted.0.as_deref().unwrap_or_default()))
        }
        Err(e) => return Err(e.into()),
    }
    let change = Change::new(
        "user.updated",
        user_id,
        json!({ "fields": ["contact_channels"] }),
    );
    events::record(tx, project_id, who, change).await?;
    Ok(())
}

async fn set_primary(tx: &mut Tx, user_id: &str, id: &str) -> Result<()> {
    sqlx::query("UPDATE contact_channels SET is_primary = CASE WHEN id = $2 THEN 1 ELSE 0 END WHERE user_id = $1")
        .bind(user_id)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

fn not_found() -> Error {
    Error::Status(404, "Contact channel not found.".into())
}

impl Core {
    pub async fn contact_channels(
        &self,
        project_id: &str,
        user_id: &str,
    ) -> Result<Vec<ContactChannel>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM contact_channels WHERE project_id = $1 AND user_id = $2 ORDER BY created_at, id"
        ))
        .bind(project_id)
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    pub async fn contact_channel(
        &self,
        project_id: &str,
        user_id: &str,
        id: &str,
    ) -> Result<ContactChannel> {
        let found: Option<ContactChannel> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM contact_channels WHERE project_id = $1 AND user_id = $2 AND id = $3"
        ))
        .bind(project_id)
        .bind(user_id)
        .bind(id)
        .fetch_optional(&self.db.pool)
        .await?;
        found.ok_or_else(not_found)
    }

    /// Whether `email` signs in to an account of the project with a verified address.
    pub async fn auth_channel_verified(&self, project_id: &str, email: &str) -> Result<bool> {
        let v: Option<i64> = sqlx::query_scalar(
            "SELECT is_verified FROM contact_channels WHERE project_id = $1 AND type = 'email' AND value = $2 AND used_for_auth = 1",
        )
        .bind(project_id)
        .bind(email)
        .fetch_optional(&self.db.pool)
        .await?;
        Ok(v == Some(1))
    }

    pub async fn create_contact_channel(
        &self,
        project: &Project,
        input: ChannelCreate,
        who: &Who,
    ) -> Result<ContactChannel> {
        let value = input.value.trim().to_lowercase();
        let mut tx = self.begin().await?;
        let exists: Option<String> = sqlx::query_scalar(
            "SELECT id FROM contact_channels WHERE user_id = $1 AND type = 'email' AND value = $2",
        )
        .bind(&input.user_id)
        .bind(&value)
        .fetch_optional(&mut *tx)
        .await?;
        if exists.is_some() {
            return Err(Error::Status(400, "Contact channel already exists".into()));
        }
        let id = new_id();
        let res = sqlx::query(
            "INSERT INTO contact_channels (id, project_id, user_id, type, value, is_verified, is_primary, used_for_auth, created_at) \
             VALUES ($1, $2, $3, 'email', $4, $5, 0, $6, $7)",
        )
        .bind(&id)
        .bind(&project.id)
        .bind(&input.user_id)
        .bind(&value)
        .bind(input.is_verified as i64)
        .bind(input.used_for_auth as i64)
        .bind(now_ms())
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(already_used(&value)),
            Err(e) => return Err(e.into()),
        }
        if input.is_primary {
            set_primary(&mut tx, &input.user_id, &id).await?;
            sync_user(&mut tx, &project.id, who, &input.user_id).await?;
        }
        record_channel(
            &mut tx,
            &project.id,
            who,
            "contact_channel.created",
            &id,
            &input.user_id,
        )
        .await?;
        tx.commit().await?;
        self.contact_channel(&project.id, &input.user_id, &id).await
    }

    pub async fn update_contact_channel(
        &self,
        project: &Project,
        user_id: &str,
        id: &str,
        update: ChannelUpdate,
        who: &Who,
    ) -> Result<ContactChannel> {
        let mut c = self.contact_channel(&project.id, user_id, id).await?;
        let mut tx = self.begin().await?;
        if let Some(v) = update.value {
            let v = v.trim().to_lowercase();
            if v != c.value {
                c.is_verified = false;
            }
            c.value = v;
        }
        if let Some(v) = update.used_for_auth {
            c.used_for_auth = v;
        }
        if let Some(v) = update.is_verified {
            c.is_verified = v;
        }
        let res = sqlx::query(
            "UPDATE contact_channels SET value = $2, is_verified = $3, used_for_auth = $4 WHERE id = $1",
        )
        .bind(&c.id)
        .bind(&c.value)
        .bind(c.is_verified as i64)
        .bind(c.used_for_auth as i64)
        .execute(&mut *tx)
        .await;
        match res {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => return Err(already_used(&c.value)),
            Err(e) => return Err(e.into()),
        }
        match update.is_primary {
            Some(true) => set_primary(&mut tx, user_id, id).await?,
            Some(false) if c.is_primary => {
                sqlx::query("UPDATE contact_channels SET is_primary = 0 WHERE id = $1")
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {}
        }
        sync_user(&mut tx, &project.id, who, user_id).await?;
        record_channel(
            &mut tx,
            &project.id,
            who,
            "contact_channel.updated",
            id,
            user_id,
        )
        .await?;
        tx.commit().await?;
        self.contact_channel(&project.id, user_id, id).await
    }

    pub async fn delete_contact_channel(
        &self,
        project: &Project,
        user_id: &str,
        id: &str,
        who: &Who,
    ) -> Result<()> {
        self.contact_channel(&project.id, user_id, id).await?;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM contact_channels WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sync_user(&mut tx, &project.id, who, user_id).await?;
        record_channel(
            &mut tx,
            &project.id,
            who,
            "contact_channel.deleted",
            id,
            user_id,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Emails `channel` a verification link (to `callback_url`, which the project must trust)
    /// carrying a one-time code; `EMAIL_ALREADY_VERIFIED` when there is nothing to verify.
    pub async fn send_channel_verification(
        &self,
        project: &Project,
        channel: &ContactChannel,
        callback_url: &str,
    ) -> Result<()> {
        if channel.is_verified {
            return Err(Error::EmailAlreadyVerified);
        }
        self.check_callback_url(project, callback_url)?;
        let mut tx = self.begin().await?;
        queue_verification_email(
            &mut tx,
            &self.public_url,
            project,
            &channel.user_id,
            &channel.value,
            callback_url,
        )
        .await?;
        tx.commit().await?;
        self.jobs_written();
        Ok(())
    }

    /// Uses a verification code: the channel it was sent to is verified.
    pub async fn verify_contact_channel(&self, project: &Project, code: &str) -> Result<()> {
        let found = self
            .check_code(&project.id, CodeKind::ContactChannelVerification, code)
            .await?;
        let user_id = found.data["user_id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let email = found.method["email"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        // Whoever holds the code proved the address: the change is the user's.
        let who = Who::User(user_id.clone());
        let mut tx = self.begin().await?;
        consume_code(&mut tx, &found).await?;
        let Some(channel) = mark_verified(&mut tx, &project.id, &who, &user_id, &email).await?
        else {
            return Err(Error::Status(
                400,
                "Contact channel not found. Was your contact channel deleted?".into(),
            ));
        };
        record_channel(
            &mut tx,
            &project.id,
            &who,
            "contact_channel.updated",
            &channel,
            &user_id,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A contact channel's event (Gatehouse's kinds: Stack has no webhook for channels).
async fn record_channel(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    kind: &'static str,
    id: &str,
    user_id: &str,
) -> Result<()> {
    let data = json!({ "id": id, "user_id": user_id });
    events::record(tx, project_id, who, Change::new(kind, id, data)).await?;
    Ok(())
}

/// Marks a user's address verified (an emailed code reached it), and their primary email with
/// it when it is that one. The channel's id, or `None` when the user has no such address.
async fn mark_verified(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    user_id: &str,
    email: &str,
) -> Result<Option<String>> {
    let channel: Option<(String,)> = sqlx::query_as(
        "UPDATE contact_channels SET is_verified = 1 WHERE project_id = $1 AND user_id = $2 AND type = 'email' AND value = $3 \
         RETURNING id",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(email)
    .fetch_optional(&mut **tx)
    .await?;
    if channel.is_some() {
        sync_user(tx, project_id, who, user_id).await?;
    }
    Ok(channel.map(|(id,)| id))
}

/// Issues a verification code for `email` and queues the email carrying its link, in `tx`
/// (a sign-up sends it in the transaction that creates the user). The caller has checked
/// `callback_url` ([`Core::check_callback_url`]).
pub(crate) async fn queue_verification_email(
    tx: &mut Tx,
    base_url: &str,
    project: &Project,
    user_id: &str,
    email: &str,
    callback_url: &str,
) -> Result<()> {
    let issued = issue_code(
        tx,
        NewCode {
            project_id: project.id.clone(),
            kind: CodeKind::ContactChannelVerification,
            user_id: Some(user_id.into()),
            method: json!({ "email": email }),
            data: json!({ "user_id": user_id }),
            redirect_url: Some(callback_url.into()),
            lifetime_ms: None,
        },
    )
    .await?;
    let link = link_with_code(callback_url, &issued.code);
    queue_email(
        tx,
        base_url,
        project,
        NewEmail::from_template(
            Recipient::UserCustomEmails {
                user_id: user_id.into(),
                emails: vec![email.into()],
            },
            templates::EMAIL_VERIFICATION,
            json!({ "emailVerificationLink": link }),
        ),
    )
    .await?;
    Ok(())
}

/// `url` with `code=<code>` added to its query, as Stack builds its links.
pub fn link_with_code(url: &str, code: &str) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((b, f)) => (b, Some(f)),
        None => (url, None),
    };
    let sep = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{sep}code={code}");
    if let Some(f) = fragment {
        out.push('#');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::link_with_code;

    #[test]
    fn links_get_the_code_in_their_query() {
        assert_eq!(
            link_with_code("https://a.test/v", "abc"),
            "https://a.test/v?code=abc"
        );
        assert_eq!(
            link_with_code("https://a.test/v?x=1#top", "abc"),
            "https://a.test/v?x=1&code=abc#top"
        );
    }
}
