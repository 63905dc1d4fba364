//! Teams: the groups B2B apps are built on. A team has members ([`members`]), each with
//! permissions ([`permissions`]), and pending invitations ([`invitations`]).
//!
//! Who may do what is decided here, never in a door: every operation takes the [`Actor`] asking
//! (server access, or a browser's signed-in user) and checks Stack's system permissions
//! (`$update_team`, `$read_members`, …) through [`Core::authorize_team`].

pub mod invitations;
pub mod members;
pub mod permissions;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::db::{json_or_null, json_text};
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::users::User;
use crate::validation::{picture_and_metadata, string, Input, Shape};
use crate::{new_id, now_ms, patch, Core};

pub use members::MemberKind;

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Team {
    pub id: String,
    pub project_id: String,
    pub display_name: String,
    pub profile_image_url: Option<String>,
    pub client_metadata: Option<String>,
    pub client_read_only_metadata: Option<String>,
    pub server_metadata: Option<String>,
    pub created_at: i64,
}

pub(crate) const TEAM_COLUMNS: &str = "t.id, t.project_id, t.display_name, t.profile_image_url, \
    t.client_metadata, t.client_read_only_metadata, t.server_metadata, t.created_at";

impl Team {
    /// Stack's team object; server access also sees when it was made and its server metadata.
    pub fn view(&self, server: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "display_name": self.display_name,
            "profile_image_url": self.profile_image_url,
            "client_metadata": json_or_null(&self.client_metadata),
            "client_read_only_metadata": json_or_null(&self.client_read_only_metadata),
        });
        if server {
            v["created_at_millis"] = json!(self.created_at);
            v["server_metadata"] = json_or_null(&self.server_metadata);
        }
        v
    }
}

/// Who asks: server (or admin) access, which may do anything in its project, or a browser with
/// client access and maybe a signed-in user, held to the user's team permissions.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    Server,
    Client(Option<&'a User>),
}

impl<'a> Actor<'a> {
    pub fn of(auth: &'a crate::auth::Auth) -> Actor<'a> {
        if auth.is_server() {
            Actor::Server
        } else {
            Actor::Client(auth.user.as_ref())
        }
    }

    pub fn is_server(&self) -> bool {
        matches!(self, Actor::Server)
    }

    /// The signed-in user of client access (`None` for server access); `missing` when a
    /// browser asks without one (Stack words it per endpoint).
    pub fn client_user(&self, missing: fn() -> Error) -> Result<Option<&'a User>> {
        match self {
            Actor::Server => Ok(None),
            Actor::Client(Some(u)) => Ok(Some(u)),
            Actor::Client(None) => Err(missing()),
        }
    }
}

/// `POST /teams`.
#[derive(Debug, Default, Deserialize)]
pub struct TeamCreate {
    pub display_name: String,
    #[serde(default)]
    pub profile_image_url: Option<String>,
    #[serde(default)]
    pub client_metadata: Option<Value>,
    #[serde(default)]
    pub client_read_only_metadata: Option<Value>,
    #[serde(default)]
    pub server_metadata: Option<Value>,
    /// `me` or a user id; resolved by the door.
    #[serde(default)]
    pub creator_user_id: Option<String>,
}

/// `PATCH /teams/{id}`: absent fields stay, `null` clears.
#[derive(Debug, Default, Deserialize)]
pub struct TeamUpdate {
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub profile_image_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub client_metadata: Option<Option<Value>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub client_read_only_metadata: Option<Option<Value>>,
    #[serde(default, deserialize_with = "patch::nullable")]
    pub server_metadata: Option<Option<Value>>,
}

fn team_fields(shape: Shape, server: bool, create: bool) -> Shape {
    let name = if create { string().defined() } else { string() };
    let shape = picture_and_metadata(shape.field("display_name", name), server);
    if create {
        shape.field("creator_user_id", string().user_id_or_me())
    } else {
        shape
    }
}

impl Input for TeamCreate {
    fn shape(server: bool) -> Shape {
        team_fields(Shape::new(), server, true)
    }
}

impl Input for TeamUpdate {
    fn shape(server: bool) -> Shape {
        team_fields(Shape::new(), server, false)
    }
}

/// A browser may upload a picture, never point at one elsewhere (Stack's rule).
fn check_client_image(actor: Actor<'_>, url: Option<&String>) -> Result<()> {
    if !actor.is_server() && url.is_some_and(|u| !crate::images::is_data_image(u)) {
        return Err(Error::Status(400, "Invalid profile image URL".into()));
    }
    Ok(())
}

/// The personal team's name, as Stack names it (`getPersonalTeamDisplayName` in its
/// `users/crud.tsx`): the display name, else the whole primary email, else "Personal Team".
pub(crate) fn personal_team_name(display_name: Option<&str>, email: Option<&str>) -> String {
    match (display_name, email) {
        (Some(n), _) if !n.is_empty() => format!("{n}'s Team"),
        (_, Some(e)) if !e.is_empty() => format!("{e}'s Team"),
        _ => "Personal Team".into(),
    }
}

/// Creates a team and, when a creator is named, makes them its first member with the
/// project's default creator permissions.
pub(crate) async fn insert_team(
    tx: &mut Tx,
    project: &Project,
    display_name: &str,
    creator_user_id: Option<&str>,
    who: &Who,
) -> Result<String> {
    let id = new_id();
    sqlx::query(
        "INSERT INTO teams (id, project_id, display_name, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(&project.id)
    .bind(display_name)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    let change = Change::new("team.created", &id, json!({}));
    events::record(tx, &project.id, who, change).await?;
    if let Some(user_id) = creator_user_id {
        members::add_member(tx, project, &id, user_id, MemberKind::Creator, who).await?;
    }
    Ok(id)
}

/// A new user's personal team (`teams.createPersonalTeamOnSignUp`), made and selected.
pub(crate) async fn create_personal_team(
    tx: &mut Tx,
    project: &Project,
    user_id: &str,
    name: &str,
    who: &Who,
) -> Result<()> {
    let team = insert_team(tx, project, name, Some(user_id), who).await?;
    crate::users::select_team(tx, user_id, &team).await
}

/// The teams list of the dashboard: a page of a project's teams, oldest first, optionally only
/// those whose name contains `search`.
#[derive(Clone, Debug, Default)]
pub struct TeamQuery {
    pub search: Option<String>,
    /// The last team of the previous page.
    pub after: Option<String>,
    pub limit: i64,
}

impl Core {
    pub async fn team(&self, project_id: &str, team_id: &str) -> Result<Option<Team>> {
        if !crate::is_uuid(team_id) {
            return Ok(None);
        }
        Ok(sqlx::query_as(&format!(
            "SELECT {TEAM_COLUMNS} FROM teams t WHERE t.project_id = $1 AND t.id = $2"
        ))
        .bind(project_id)
        .bind(team_id)
        .fetch_optional(&self.db.pool)
        .await?)
    }

    /// The team, or Stack's `TEAM_NOT_FOUND`.
    pub async fn existing_team(&self, project_id: &str, team_id: &str) -> Result<Team> {
        self.team(project_id, team_id)
            .await?
            .ok_or_else(|| Error::TeamNotFound(team_id.into()))
    }

    pub async fn teams_of_user(&self, user_id: &str) -> Result<Vec<Team>> {
        Ok(sqlx::query_as(&format!(
            "SELECT {TEAM_COLUMNS} FROM teams t JOIN team_members m ON m.team_id = t.id \
             WHERE m.user_id = $1 ORDER BY t.created_at, t.id"
        ))
        .bind(user_id)
        .fetch_all(&self.db.pool)
        .await?)
    }

    /// `POST /teams`. A browser creates teams only where the project allows it, only as its own
    /// user (who becomes the first member), and with an uploaded picture if any.
    pub async fn create_team(
        &self,
        project: &Project,
        actor: Actor<'_>,
        input: TeamCreate,
        who: &Who,
    ) -> Result<Team> {
        let mut creator = input.creator_user_id.clone();
        if let Some(me) = actor.client_user(|| Error::UserAuthenticationRequired)? {
            if !project.config.client_team_creation_enabled {
                return Err(Error::Status(
                    403,
                    "Client team creation is disabled for this project".into(),
                ));
            }
            check_client_image(actor, input.profile_image_url.as_ref())?;
            match &creator {
                None => creator = Some(me.id.clone()),
                Some(id) if *id == me.id => {}
                Some(_) => return Err(Error::Status(403, "You cannot create a team as a user that is not yourself. Make sure you set the creator_user_id to 'me'.".into())),
            }
        }
        if let Some(id) = &creator {
            if self.user(&project.id, id).await?.is_none() {
                return Err(Error::UserNotFound);
            }
        }
        let mut tx = self.begin().await?;
        let id = insert_team(
            &mut tx,
            project,
            &input.display_name,
            creator.as_deref(),
            who,
        )
        .await?;
        let image = crate::images::store(
            &mut tx,
            &self.public_url,
            input.profile_image_url,
            "profile_image_url",
        )
        .await?;
        sqlx::query(
            "UPDATE teams SET profile_image_url = $2, client_metadata = $3, client_read_only_metadata = $4, \
             server_metadata = $5 WHERE id = $1",
        )
        .bind(&id)
        .bind(image)
        .bind(json_text(input.client_metadata))
        .bind(json_text(input.client_read_only_metadata))
        .bind(json_text(input.server_metadata))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.existing_team(&project.id, &id).await
    }

    /// `GET /teams/{id}`: a browser sees only teams its user belongs to.
    pub async fn read_team(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
    ) -> Result<Team> {
        if let Some(me) = actor.client_user(|| Error::UserAuthenticationRequired)? {
            self.require_membership(&project.id, team_id, &me.id)
                .await?;
        }
        self.existing_team(&project.id, team_id).await
    }

    /// `GET /teams?user_id=`: a browser lists only its own user's teams.
    pub async fn list_teams(
        &self,
        project: &Project,
        actor: Actor<'_>,
        user_id: Option<&str>,
    ) -> Result<Vec<Team>> {
        if let Some(me) = actor.client_user(|| Error::CannotGetOwnUserWithoutUser)? {
            if user_id != Some(me.id.as_str()) {
                return Err(Error::Status(403, "Client can only list teams for their own user. user_id must be either \"me\" or the ID of the current user".into()));
            }
        }
        match user_id {
            Some(u) => Ok(self
                .teams_of_user(u)
                .await?
                .into_iter()
                .filter(|t| t.project_id == project.id)
                .collect()),
            None => Ok(sqlx::query_as(&format!(
                "SELECT {TEAM_COLUMNS} FROM teams t WHERE t.project_id = $1 ORDER BY t.created_at, t.id"
            ))
            .bind(&project.id)
            .fetch_all(&self.db.pool)
            .await?),
        }
    }

    /// A page of the project's teams for the dashboard, and whether more follow.
    pub async fn team_page(&self, project_id: &str, q: &TeamQuery) -> Result<(Vec<Team>, bool)> {
        let limit = q.limit.clamp(1, 200);
        let search = q
            .search
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| format!("%{}%", s.to_lowercase().replace(['%', '_'], "")));
        let after = match &q.after {
            Some(id) => self.team(project_id, id).await?,
            None => None,
        };
        let mut rows: Vec<Team> = sqlx::query_as(&format!(
            "SELECT {TEAM_COLUMNS} FROM teams t WHERE t.project_id = $1 \
             AND ($2 IS NULL OR LOWER(t.display_name) LIKE $2 OR t.id = $3) \
             AND ($4 IS NULL OR t.created_at > $4 OR (t.created_at = $4 AND t.id > $5)) \
             ORDER BY t.created_at, t.id LIMIT $6"
        ))
        .bind(project_id)
        .bind(&search)
        .bind(q.search.as_deref().map(str::trim).unwrap_or(""))
        .bind(after.as_ref().map(|t| t.created_at))
        .bind(after.as_ref().map(|t| t.id.clone()).unwrap_or_default())
        .bind(limit + 1)
        .fetch_all(&self.db.pool)
        .await?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        Ok((rows, more))
    }

    /// `PATCH /teams/{id}`: a browser's user needs `$update_team`.
    pub async fn update_team(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
        input: TeamUpdate,
        who: &Who,
    ) -> Result<Team> {
        check_client_image(
            actor,
            input.profile_image_url.as_ref().and_then(Option::as_ref),
        )?;
        self.authorize_team(project, actor, team_id, "$update_team")
            .await?;
        let mut team = self.existing_team(&project.id, team_id).await?;
        let mut tx = self.begin().await?;
        if let Some(name) = input.display_name {
            team.display_name = name;
        }
        if let Some(url) = input.profile_image_url {
            team.profile_image_url =
                crate::images::store(&mut tx, &self.public_url, url, "profile_image_url").await?;
        }
        if let Some(m) = input.client_metadata {
            team.client_metadata = json_text(m);
        }
        if let Some(m) = input.client_read_only_metadata {
            team.client_read_only_metadata = json_text(m);
        }
        if let Some(m) = input.server_metadata {
            team.server_metadata = json_text(m);
        }
        sqlx::query(
            "UPDATE teams SET display_name = $2, profile_image_url = $3, client_metadata = $4, \
             client_read_only_metadata = $5, server_metadata = $6 WHERE id = $1",
        )
        .bind(&team.id)
        .bind(&team.display_name)
        .bind(&team.profile_image_url)
        .bind(&team.client_metadata)
        .bind(&team.client_read_only_metadata)
        .bind(&team.server_metadata)
        .execute(&mut *tx)
        .await?;
        let change = Change::new("team.updated", &team.id, json!({}));
        events::record(&mut tx, &project.id, who, change).await?;
        tx.commit().await?;
        Ok(team)
    }

    /// `DELETE /teams/{id}`: a browser's user needs `$delete_team`. Memberships, grants and
    /// pending invitations go with the team; nobody keeps it selected.
    pub async fn delete_team(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
        who: &Who,
    ) -> Result<()> {
        self.authorize_team(project, actor, team_id, "$delete_team")
            .await?;
        self.existing_team(&project.id, team_id).await?;
        let mut tx = self.begin().await?;
        crate::users::unselect_team(&mut tx, &project.id, None, team_id).await?;
        invitations::revoke_team_invitations(&mut tx, &project.id, team_id).await?;
        sqlx::query("DELETE FROM teams WHERE project_id = $1 AND id = $2")
            .bind(&project.id)
            .bind(team_id)
            .execute(&mut *tx)
            .await?;
        let change = Change::new("team.deleted", team_id, json!({ "id": team_id }));
        events::record(&mut tx, &project.id, who, change).await?;
        tx.commit().await?;
        Ok(())
    }
}
