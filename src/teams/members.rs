//! Team memberships and member profiles: who belongs to a team, and the name and picture each
//! member shows in it (falling back to their user's).

use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::any::AnyRow;
use sqlx::Row;

use super::Actor;
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::users::{User, USER_SELECT};
use crate::validation::{string, Input, Shape};
use crate::{now_ms, patch, Core};

/// How someone joins: creators get `rbac.defaultPermissions.teamCreator`, everyone else
/// `teamMember`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberKind {
    Creator,
    Member,
}

/// Adds a membership with the project's default grants for its kind, in `tx`.
/// A membership's event: its object is `<team id>/<user id>` (a membership has no id of its
/// own), its data Stack's webhook fields.
async fn record_membership(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    kind: &'static str,
    team_id: &str,
    user_id: &str,
) -> Result<()> {
    let object = format!("{team_id}/{user_id}");
    let data = serde_json::json!({ "team_id": team_id, "user_id": user_id });
    events::record(tx, project_id, who, Change::new(kind, &object, data)).await?;
    Ok(())
}

pub(crate) async fn add_member(
    tx: &mut Tx,
    project: &Project,
    team_id: &str,
    user_id: &str,
    kind: MemberKind,
    who: &Who,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO team_members (team_id, user_id, project_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(team_id)
    .bind(user_id)
    .bind(&project.id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    record_membership(
        tx,
        &project.id,
        who,
        "team_membership.created",
        team_id,
        user_id,
    )
    .await?;
    let defaults = match kind {
        MemberKind::Creator => "teamCreator",
        MemberKind::Member => "teamMember",
    };
    for permission in super::permissions::default_grants(project, defaults) {
        super::permissions::insert_team_grant(tx, &project.id, team_id, user_id, &permission, who)
            .await?;
    }
    Ok(())
}

/// A member as `/team-member-profiles` shows them.
#[derive(Clone, Debug)]
pub struct MemberProfile {
    pub team_id: String,
    /// Their own name and picture in this team, if they set one.
    pub display_name: Option<String>,
    pub profile_image_url: Option<String>,
    pub joined_at: i64,
    pub user: User,
}

impl MemberProfile {
    pub fn shown_name(&self) -> Option<&str> {
        self.display_name
            .as_deref()
            .or(self.user.display_name.as_deref())
    }

    pub fn view(&self, server: bool) -> Value {
        let mut v = json!({
            "team_id": self.team_id,
            "user_id": self.user.id,
            "display_name": self.shown_name(),
            "profile_image_url": self.profile_image_url.as_ref().or(self.user.profile_image_url.as_ref()),
        });
        if server {
            v["user"] = self.user.server_view();
        }
        v
    }
}

/// Members with their users, in one query: the user select, reached through the membership.
fn profile_query(filter: &str) -> String {
    let select = USER_SELECT.replacen(
        " FROM users u",
        ", m.team_id AS member_team_id, m.display_name AS member_display_name, \
         m.profile_image_url AS member_profile_image_url, m.created_at AS member_joined_at \
         FROM team_members m JOIN users u ON u.id = m.user_id",
        1,
    );
    format!("{select} WHERE m.project_id = $1 {filter} ORDER BY m.created_at, m.user_id")
}

impl sqlx::FromRow<'_, AnyRow> for MemberProfile {
    fn from_row(r: &AnyRow) -> sqlx::Result<MemberProfile> {
        Ok(MemberProfile {
            team_id: r.try_get("member_team_id")?,
            display_name: r.try_get("member_display_name")?,
            profile_image_url: r.try_get("member_profile_image_url")?,
            joined_at: r.try_get("member_joined_at")?,
            user: User::from_row(r)?,
        })
    }
}

/// `PATCH /team-member-profiles/{team_id}/{user_id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub profile_image_url: Option<Option<String>>,
}

impl Input for ProfileUpdate {
    fn shape(_: bool) -> Shape {
        Shape::new().field("display_name", string()).field(
            "profile_image_url",
            string().url().max_chars(1_000_000).nullable(),
        )
    }
}

impl Core {
    /// Stack's membership check: the user exists (`USER_NOT_FOUND`), then belongs to the team
    /// (`TEAM_MEMBERSHIP_NOT_FOUND`).
    pub async fn require_membership(
        &self,
        project_id: &str,
        team_id: &str,
        user_id: &str,
    ) -> Result<()> {
        if self.user(project_id, user_id).await?.is_none() {
            return Err(Error::UserNotFound);
        }
        if !self.is_team_member(team_id, user_id).await? {
            return Err(Error::TeamMembershipNotFound {
                team_id: team_id.into(),
                user_id: user_id.into(),
            });
        }
        Ok(())
    }

    pub async fn is_team_member(&self, team_id: &str, user_id: &str) -> Result<bool> {
        let row: Option<(String,)> =
            sqlx::query_as("SELECT team_id FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(team_id)
                .bind(user_id)
                .fetch_optional(&self.db.pool)
                .await?;
        Ok(row.is_some())
    }

    /// `POST /team-memberships/{team_id}/{user_id}` (server access): the user joins with the
    /// project's default member permissions.
    pub async fn add_team_member(
        &self,
        project: &Project,
        team_id: &str,
        user_id: &str,
        who: &Who,
    ) -> Result<()> {
        if self.user(&project.id, user_id).await?.is_none() {
            return Err(Error::UserNotFound);
        }
        self.existing_team(&project.id, team_id).await?;
        if self.is_team_member(team_id, user_id).await? {
            return Err(Error::TeamMembershipAlreadyExists);
        }
        let mut tx = self.begin().await?;
        add_member(&mut tx, project, team_id, user_id, MemberKind::Member, who).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `DELETE /team-memberships/{team_id}/{user_id}`: anyone may leave; removing someone else
    /// takes `$remove_members`. Their grants in the team go too.
    pub async fn remove_team_member(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
        user_id: &str,
        who: &Who,
    ) -> Result<()> {
        if let Some(me) = actor.client_user(|| Error::CannotGetOwnUserWithoutUser)? {
            if me.id != user_id {
                self.require_team_permission(project, team_id, &me.id, "$remove_members")
                    .await?;
            }
        }
        self.require_membership(&project.id, team_id, user_id)
            .await?;
        let mut tx = self.begin().await?;
        sqlx::query("DELETE FROM team_members WHERE team_id = $1 AND user_id = $2")
            .bind(team_id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        crate::users::unselect_team(&mut tx, &project.id, Some(user_id), team_id).await?;
        record_membership(
            &mut tx,
            &project.id,
            who,
            "team_membership.deleted",
            team_id,
            user_id,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `GET /team-member-profiles?team_id=&user_id=`. A browser names a team it belongs to, and
    /// sees others' profiles only with `$read_members`.
    pub async fn member_profiles(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<MemberProfile>> {
        if let Some(me) = actor.client_user(|| Error::CannotGetOwnUserWithoutUser)? {
            let Some(team) = team_id else {
                return Err(Error::Status(
                    400,
                    "team_id is required for access type client".into(),
                ));
            };
            self.require_membership(&project.id, team, &me.id).await?;
            if user_id != Some(me.id.as_str()) {
                self.require_team_permission(project, team, &me.id, "$read_members")
                    .await?;
            }
        } else {
            if let Some(team) = team_id {
                self.existing_team(&project.id, team).await?;
            }
            if let Some(user) = user_id {
                if self.user(&project.id, user).await?.is_none() {
                    return Err(Error::UserNotFound);
                }
            }
        }
        let rows: Vec<MemberProfile> = sqlx::query_as(&profile_query(
            "AND ($2 = '' OR m.team_id = $2) AND ($3 = '' OR m.user_id = $3)",
        ))
        .bind(&project.id)
        .bind(team_id.unwrap_or(""))
        .bind(user_id.unwrap_or(""))
        .fetch_all(&self.db.pool)
        .await?;
        let mut users: Vec<_> = rows.iter().map(|p| p.user.clone()).collect();
        self.attach_oauth_links(project, &mut users).await?;
        let mut out = Vec::with_capacity(rows.len());
        for (mut p, mut user) in rows.into_iter().zip(users) {
            user.email_verification_required = project.config.require_email_verification;
            p.user = user;
            out.push(p);
        }
        Ok(out)
    }

    /// `GET /team-member-profiles/{team_id}/{user_id}`.
    pub async fn member_profile(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
        user_id: &str,
    ) -> Result<MemberProfile> {
        if let Some(me) = actor.client_user(|| Error::CannotGetOwnUserWithoutUser)? {
            if me.id != user_id {
                self.require_team_permission(project, team_id, &me.id, "$read_members")
                    .await?;
            }
        }
        self.require_membership(&project.id, team_id, user_id)
            .await?;
        self.member_profiles(project, Actor::Server, Some(team_id), Some(user_id))
            .await?
            .pop()
            .ok_or_else(|| Error::TeamMembershipNotFound {
                team_id: team_id.into(),
                user_id: user_id.into(),
            })
    }

    /// `PATCH /team-member-profiles/{team_id}/{user_id}`: a browser edits only its own.
    pub async fn update_member_profile(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
        user_id: &str,
        input: ProfileUpdate,
    ) -> Result<MemberProfile> {
        if let Some(me) = actor.client_user(|| Error::CannotGetOwnUserWithoutUser)? {
            if me.id != user_id {
                return Err(Error::Status(
                    403,
                    "Cannot update another user's profile".into(),
                ));
            }
        }
        super::check_client_image(
            actor,
            input.profile_image_url.as_ref().and_then(Option::as_ref),
        )?;
        self.require_membership(&project.id, team_id, user_id)
            .await?;
        let mut tx = self.begin().await?;
        if let Some(name) = input.display_name {
            sqlx::query(
                "UPDATE team_members SET display_name = $3 WHERE team_id = $1 AND user_id = $2",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(name)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(url) = input.profile_image_url {
            let url =
                crate::images::store(&mut tx, &self.public_url, url, "profile_image_url").await?;
            sqlx::query(
                "UPDATE team_members SET profile_image_url = $3 WHERE team_id = $1 AND user_id = $2",
            )
            .bind(team_id)
            .bind(user_id)
            .bind(url)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.member_profile(project, Actor::Server, team_id, user_id)
            .await
    }
}
