//! Permissions (RBAC): definitions live in the config tree (`rbac.permissions.<id>`, scope team
//! or project, with the ids each contains); grants live in the database, per team membership or
//! per user. A permission held implies the ones it contains, transitively; the system
//! permissions (`$update_team`, …) exist in every project and contain nothing.

use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::Actor;
use crate::config::{format, TEAM_SYSTEM_PERMISSIONS};
use crate::error::{Error, Result};
use crate::events::{self, Change, Tx, Who};
use crate::projects::Project;
use crate::validation::{array, string, Input, Shape};
use crate::{now_ms, Core};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    Team,
    Project,
}

impl Scope {
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Team => "team",
            Scope::Project => "project",
        }
    }
}

/// What the system permissions allow, as their descriptions say.
fn system_description(id: &str) -> Option<&'static str> {
    Some(match id {
        "$update_team" => "Update the team information",
        "$delete_team" => "Delete the team",
        "$read_members" => "Read and list the other members of the team",
        "$remove_members" => "Remove other members from the team",
        "$invite_members" => "Invite other users to the team",
        "$manage_api_keys" => "Create and manage API keys for the team",
        _ => return None,
    })
}

/// A permission definition as the API shows it.
#[derive(Clone, Debug, PartialEq)]
pub struct Definition {
    pub id: String,
    pub description: Option<String>,
    pub contained: Vec<String>,
}

impl Definition {
    pub fn view(&self) -> Value {
        let mut v = json!({ "id": self.id, "contained_permission_ids": self.contained });
        if let Some(d) = &self.description {
            v["description"] = json!(d);
        }
        v
    }

    pub fn is_system(&self) -> bool {
        self.id.starts_with('$')
    }
}

fn defined(tree: &Value) -> &Map<String, Value> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    tree.pointer("/rbac/permissions")
        .and_then(Value::as_object)
        .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
}

fn ids_of(map: &Value) -> Vec<String> {
    let mut ids: Vec<String> = map
        .as_object()
        .into_iter()
        .flatten()
        .filter(|(_, on)| on.as_bool() != Some(false))
        .map(|(k, _)| k.clone())
        .collect();
    ids.sort();
    ids
}

/// The definitions of `scope` in a rendered tree, the system ones included for teams, by id.
pub fn definitions(tree: &Value, scope: Scope) -> Vec<Definition> {
    let mut out: Vec<Definition> = defined(tree)
        .iter()
        .filter(|(_, p)| p["scope"].as_str() == Some(scope.as_str()))
        .map(|(id, p)| Definition {
            id: id.clone(),
            description: p["description"]
                .as_str()
                .map(str::to_string)
                .or_else(|| system_description(id).map(str::to_string)),
            contained: ids_of(&p["containedPermissionIds"]),
        })
        .collect();
    if scope == Scope::Team {
        out.extend(TEAM_SYSTEM_PERMISSIONS.iter().map(|id| Definition {
            id: id.to_string(),
            description: system_description(id).map(str::to_string),
            contained: vec![],
        }));
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// The ids a project grants by default (`rbac.defaultPermissions.<which>`: teamCreator,
/// teamMember, signUp).
pub(crate) fn default_grants(project: &Project, which: &str) -> Vec<String> {
    ids_of(
        project
            .config
            .tree
            .pointer(&format!("/rbac/defaultPermissions/{which}"))
            .unwrap_or(&Value::Null),
    )
}

pub(crate) async fn insert_team_grant(
    tx: &mut Tx,
    project_id: &str,
    team_id: &str,
    user_id: &str,
    permission_id: &str,
    who: &Who,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO team_member_permissions (project_id, team_id, user_id, permission_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (team_id, user_id, permission_id) DO NOTHING",
    )
    .bind(project_id)
    .bind(team_id)
    .bind(user_id)
    .bind(permission_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() > 0 {
        let grant = Grant {
            team_id: Some(team_id.into()),
            user_id: user_id.into(),
            id: permission_id.into(),
        };
        record_grant(tx, project_id, who, "team_permission.created", &grant).await?;
    }
    Ok(())
}

pub(crate) async fn insert_user_grant(
    tx: &mut Tx,
    project_id: &str,
    user_id: &str,
    permission_id: &str,
    who: &Who,
) -> Result<()> {
    let done = sqlx::query(
        "INSERT INTO user_permissions (project_id, user_id, permission_id, created_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, permission_id) DO NOTHING",
    )
    .bind(project_id)
    .bind(user_id)
    .bind(permission_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() > 0 {
        let grant = Grant {
            team_id: None,
            user_id: user_id.into(),
            id: permission_id.into(),
        };
        record_grant(tx, project_id, who, "project_permission.created", &grant).await?;
    }
    Ok(())
}

/// A grant's event, with Stack's webhook names and fields (`team_permission.created`,
/// `project_permission.deleted`…); its object is `[<team id>/]<user id>/<permission id>`.
async fn record_grant(
    tx: &mut Tx,
    project_id: &str,
    who: &Who,
    kind: &'static str,
    grant: &Grant,
) -> Result<()> {
    let object = match &grant.team_id {
        Some(team) => format!("{team}/{}/{}", grant.user_id, grant.id),
        None => format!("{}/{}", grant.user_id, grant.id),
    };
    let mut data = serde_json::json!({ "id": grant.id, "user_id": grant.user_id });
    if let Some(team) = &grant.team_id {
        data["team_id"] = serde_json::json!(team);
    }
    events::record(tx, project_id, who, Change::new(kind, &object, data)).await?;
    Ok(())
}

/// A permission a user holds (in a team, for team permissions).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub team_id: Option<String>,
    pub user_id: String,
    pub id: String,
}

impl Grant {
    pub fn view(&self) -> Value {
        let mut v = json!({ "id": self.id, "user_id": self.user_id });
        if let Some(t) = &self.team_id {
            v["team_id"] = json!(t);
        }
        v
    }
}

/// `GET /team-permissions` / `GET /project-permissions` filters.
#[derive(Clone, Debug, Default)]
pub struct GrantQuery {
    pub team_id: Option<String>,
    pub user_id: Option<String>,
    pub permission_id: Option<String>,
    /// Also the permissions the direct ones contain, transitively.
    pub recursive: bool,
}

/// Expands direct grants through `defs` (unknown ids, e.g. of a deleted definition, are
/// skipped), grouped by holder.
fn expand(direct: Vec<Grant>, defs: &[Definition], recursive: bool) -> Vec<Grant> {
    use std::collections::{BTreeMap, BTreeSet};
    let by_id: BTreeMap<&str, &Definition> = defs.iter().map(|d| (d.id.as_str(), d)).collect();
    let mut holders: BTreeMap<(Option<String>, String), Vec<String>> = BTreeMap::new();
    for g in direct {
        holders
            .entry((g.team_id, g.user_id))
            .or_default()
            .push(g.id);
    }
    let mut out = Vec::new();
    for ((team_id, user_id), mut todo) in holders {
        let mut held = BTreeSet::new();
        while let Some(id) = todo.pop() {
            let Some(def) = by_id.get(id.as_str()) else {
                continue;
            };
            if held.insert(def.id.clone()) && recursive {
                todo.extend(def.contained.iter().cloned());
            }
        }
        out.extend(held.into_iter().map(|id| Grant {
            team_id: team_id.clone(),
            user_id: user_id.clone(),
            id,
        }));
    }
    out.sort();
    out
}

/// A permission contained in itself, through any chain: the chain, for the error.
/// Looks from `first` (the permission being saved) before the others.
fn find_cycle(perms: &Map<String, Value>, first: &str) -> Option<Vec<String>> {
    fn visit(
        id: &str,
        perms: &Map<String, Value>,
        path: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == id) {
            let mut cycle = path[at..].to_vec();
            cycle.push(id.to_string());
            return Some(cycle);
        }
        if done.contains(id) {
            return None;
        }
        let def = perms.get(id)?;
        path.push(id.to_string());
        for next in ids_of(&def["containedPermissionIds"]) {
            if let Some(c) = visit(&next, perms, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(id.to_string());
        None
    }
    let mut done = Default::default();
    std::iter::once(first)
        .chain(perms.keys().map(String::as_str))
        .find_map(|id| visit(id, perms, &mut vec![], &mut done))
}

/// `POST /…-permission-definitions` and `PATCH /…-permission-definitions/{id}`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefinitionInput {
    pub id: Option<String>,
    pub description: Option<String>,
    pub contained_permission_ids: Option<Vec<String>>,
}

/// Ids of custom permissions: lower-case letters, digits, `_` and `:`.
pub fn custom_id_rule(_: &str, v: &Value) -> Option<String> {
    let s = v.as_str()?;
    (!is_custom_id(s)).then(|| "Only lowercase letters, numbers, \":\", \"_\" are allowed".into())
}

/// Ids of any permission: a custom id or one of the system ones.
pub fn permission_id_rule(_: &str, v: &Value) -> Option<String> {
    let s = v.as_str()?;
    let body = s.strip_prefix('$').unwrap_or(s);
    if !is_custom_id(body) {
        return Some(
            "Only lowercase letters, numbers, \":\", \"_\" and optional \"$\" at the beginning are allowed"
                .into(),
        );
    }
    (s.starts_with('$') && !TEAM_SYSTEM_PERMISSIONS.contains(&s))
        .then(|| "Invalid system permission".into())
}

fn is_custom_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b':')
}

impl DefinitionInput {
    pub fn shape(create: bool) -> Shape {
        let id = string().custom(custom_id_rule);
        Shape::new()
            .field("id", if create { id.defined() } else { id })
            .field("description", string())
            .field(
                "contained_permission_ids",
                array(string().defined().custom(permission_id_rule)),
            )
    }
}

impl Input for DefinitionInput {
    fn shape(_: bool) -> Shape {
        DefinitionInput::shape(false)
    }
}

impl Core {
    /// Creates a definition (`PERMISSION_ID_ALREADY_EXISTS`, `CONTAINED_PERMISSION_NOT_FOUND`),
    /// written to the environment override as Stack writes it.
    pub async fn create_permission_definition(
        &self,
        project: &Project,
        scope: Scope,
        input: DefinitionInput,
        who: &Who,
    ) -> Result<Definition> {
        let id = input.id.clone().unwrap_or_default();
        self.change_definitions(project, scope, &id, who, |perms| {
            if perms.contains_key(&id) {
                return Err(Error::PermissionIdAlreadyExists(id.clone()));
            }
            perms.insert(
                id.clone(),
                definition_value(
                    &input.description,
                    input.contained_permission_ids.as_deref(),
                    scope,
                ),
            );
            Ok(None)
        })
        .await?;
        self.definition_after_change(project, scope, &id).await
    }

    /// Changes a definition; a new id renames it everywhere: in the permissions that contain
    /// it, the default grants and every grant already made.
    pub async fn update_permission_definition(
        &self,
        project: &Project,
        scope: Scope,
        old_id: &str,
        input: DefinitionInput,
        who: &Who,
    ) -> Result<Definition> {
        let new_id = input.id.clone().unwrap_or_else(|| old_id.to_string());
        self.change_definitions(project, scope, &new_id, who, |perms| {
            let Some(old) = perms
                .get(old_id)
                .filter(|p| p["scope"].as_str() == Some(scope.as_str()))
                .cloned()
            else {
                return Err(Error::PermissionNotFound(old_id.into()));
            };
            if new_id != old_id && perms.contains_key(&new_id) {
                return Err(Error::PermissionIdAlreadyExists(new_id.clone()));
            }
            let description = input
                .description
                .clone()
                .or_else(|| old["description"].as_str().map(str::to_string));
            let contained = input
                .contained_permission_ids
                .clone()
                .unwrap_or_else(|| ids_of(&old["containedPermissionIds"]));
            perms.remove(old_id);
            rename_contained(perms, old_id, Some(&new_id));
            perms.insert(
                new_id.clone(),
                definition_value(&description, Some(&contained), scope),
            );
            Ok((new_id != old_id).then(|| (old_id.to_string(), Some(new_id.clone()))))
        })
        .await?;
        self.definition_after_change(project, scope, &new_id).await
    }

    /// Deletes a definition, from the permissions that contain it, the default grants, and
    /// every grant of it.
    pub async fn delete_permission_definition(
        &self,
        project: &Project,
        scope: Scope,
        id: &str,
        who: &Who,
    ) -> Result<()> {
        self.change_definitions(project, scope, id, who, |perms| {
            if perms
                .get(id)
                .is_none_or(|p| p["scope"].as_str() != Some(scope.as_str()))
            {
                return Err(Error::PermissionNotFound(id.into()));
            }
            perms.remove(id);
            rename_contained(perms, id, None);
            Ok(Some((id.to_string(), None)))
        })
        .await
    }

    /// The one way definitions change: `edit` gets the project's permissions map and says which
    /// id it renamed or removed; contained ids are checked, cycles (looked for from `saved`)
    /// refused, and grants and default grants follow, all in one transaction.
    async fn change_definitions(
        &self,
        project: &Project,
        scope: Scope,
        saved: &str,
        who: &Who,
        edit: impl FnOnce(&mut Map<String, Value>) -> Result<Option<(String, Option<String>)>>,
    ) -> Result<()> {
        let mut tx = self.begin().await?;
        let mut renamed = None;
        crate::config::change_overrides_in(&mut tx, &project.id, who, |o| {
            let current = crate::config::ProjectConfig::from_overrides(o);
            let mut perms = defined(&current.tree).clone();
            renamed = edit(&mut perms)?;
            // Every contained id names a permission of the same scope (or a system one).
            for p in perms.values() {
                let own = p["scope"].as_str().unwrap_or("");
                for c in ids_of(&p["containedPermissionIds"]) {
                    let system = own == "team" && TEAM_SYSTEM_PERMISSIONS.contains(&c.as_str());
                    let same = perms.get(&c).is_some_and(|d| d["scope"].as_str() == Some(own));
                    if !system && !same && own == scope.as_str() {
                        return Err(Error::ContainedPermissionNotFound(c));
                    }
                }
            }
            if let Some(cycle) = find_cycle(&perms, saved) {
                return Err(Error::Status(
                    400,
                    format!(
                        "Permission \"{}\" would contain itself ({}). Remove one of these contained permissions.",
                        cycle[0],
                        cycle.join(" → ")
                    ),
                ));
            }
            let mut change = Map::new();
            change.insert("rbac.permissions".into(), Value::Object(perms));
            if let Some((old, new)) = &renamed {
                for which in ["teamCreator", "teamMember", "signUp"] {
                    let mut ids = ids_of(
                        current
                            .tree
                            .pointer(&format!("/rbac/defaultPermissions/{which}"))
                            .unwrap_or(&Value::Null),
                    );
                    if !ids.contains(old) {
                        continue;
                    }
                    ids.retain(|i| i != old);
                    ids.extend(new.iter().cloned());
                    change.insert(
                        format!("rbac.defaultPermissions.{which}"),
                        Value::Object(ids.into_iter().map(|i| (i, json!(true))).collect()),
                    );
                }
            }
            o.environment = format::merge(&o.environment, &change);
            Ok(())
        })
        .await?;
        if let Some((old, new)) = &renamed {
            // The grants follow the definition; each one rewritten is a grant taken away
            // and, for a rename, one given under the new id.
            let (table, returning, kinds) = match scope {
                Scope::Team => (
                    "team_member_permissions",
                    "team_id, user_id",
                    ["team_permission.deleted", "team_permission.created"],
                ),
                Scope::Project => (
                    "user_permissions",
                    "NULL, user_id",
                    ["project_permission.deleted", "project_permission.created"],
                ),
            };
            let sql = match new {
                Some(_) => format!(
                    "UPDATE {table} SET permission_id = $3 WHERE project_id = $1 AND permission_id = $2 RETURNING {returning}"
                ),
                None => format!(
                    "DELETE FROM {table} WHERE project_id = $1 AND permission_id = $2 RETURNING {returning}"
                ),
            };
            let mut query = sqlx::query_as(&sql).bind(&project.id).bind(old);
            if let Some(new) = new {
                query = query.bind(new);
            }
            let rewritten: Vec<(Option<String>, String)> = query.fetch_all(&mut *tx).await?;
            for (team_id, user_id) in rewritten {
                let mut grant = Grant {
                    team_id,
                    user_id,
                    id: old.clone(),
                };
                record_grant(&mut tx, &project.id, who, kinds[0], &grant).await?;
                if let Some(new) = new {
                    grant.id = new.clone();
                    record_grant(&mut tx, &project.id, who, kinds[1], &grant).await?;
                }
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets which permissions a project grants by default: `which` is `teamCreator` or
    /// `teamMember` (team permissions) or `signUp` (project permissions); every id must be
    /// defined in that scope.
    pub async fn set_default_permissions(
        &self,
        project: &Project,
        which: &str,
        ids: &[String],
        who: &Who,
    ) -> Result<()> {
        let scope = match which {
            "teamCreator" | "teamMember" => Scope::Team,
            "signUp" => Scope::Project,
            other => {
                return Err(Error::Status(
                    400,
                    format!("There are no default permissions named {other:?}."),
                ))
            }
        };
        let defs = definitions(&project.config.tree, scope);
        if let Some(unknown) = ids.iter().find(|id| !defs.iter().any(|d| &d.id == *id)) {
            return Err(Error::PermissionNotFound(unknown.clone()));
        }
        let mut change = Map::new();
        change.insert(
            format!("rbac.defaultPermissions.{which}"),
            Value::Object(ids.iter().map(|i| (i.clone(), json!(true))).collect()),
        );
        self.change_overrides(&project.id, who, |o| {
            o.environment = format::merge(&o.environment, &change);
            Ok(())
        })
        .await?;
        Ok(())
    }

    async fn definition_after_change(
        &self,
        project: &Project,
        scope: Scope,
        id: &str,
    ) -> Result<Definition> {
        let project = self
            .project_cached(&project.id)
            .await?
            .ok_or_else(|| Error::ProjectNotFound(project.id.clone()))?;
        definitions(&project.config.tree, scope)
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| Error::internal("definition vanished after saving"))
    }

    /// Permissions held, per Stack's listing: direct grants, or with `recursive` everything they
    /// contain. A browser lists only its own user's.
    pub async fn list_permissions(
        &self,
        project: &Project,
        actor: Actor<'_>,
        scope: Scope,
        q: &GrantQuery,
    ) -> Result<Vec<Grant>> {
        if let Some(me) = actor.client_user(|| Error::CannotGetOwnUserWithoutUser)? {
            if q.user_id.as_deref() != Some(me.id.as_str()) {
                return Err(Error::Status(403, "Client can only list permissions for their own user. user_id must be either \"me\" or the ID of the current user".into()));
            }
        }
        let direct: Vec<(Option<String>, String, String)> = match scope {
            Scope::Team => {
                sqlx::query_as(
                    "SELECT team_id, user_id, permission_id FROM team_member_permissions WHERE project_id = $1 \
                     AND ($2 = '' OR team_id = $2) AND ($3 = '' OR user_id = $3)",
                )
                .bind(&project.id)
                .bind(q.team_id.as_deref().unwrap_or(""))
                .bind(q.user_id.as_deref().unwrap_or(""))
                .fetch_all(&self.db.pool)
                .await?
            }
            Scope::Project => {
                sqlx::query_as(
                    "SELECT NULL AS team_id, user_id, permission_id FROM user_permissions WHERE project_id = $1 \
                     AND ($2 = '' OR user_id = $2)",
                )
                .bind(&project.id)
                .bind(q.user_id.as_deref().unwrap_or(""))
                .fetch_all(&self.db.pool)
                .await?
            }
        };
        let direct = direct
            .into_iter()
            .map(|(team_id, user_id, id)| Grant {
                team_id,
                user_id,
                id,
            })
            .collect();
        let defs = definitions(&project.config.tree, scope);
        let mut out = expand(direct, &defs, q.recursive);
        if let Some(p) = &q.permission_id {
            out.retain(|g| &g.id == p);
        }
        Ok(out)
    }

    /// Whether the user holds `permission` in the team, directly or through what they hold.
    pub async fn has_team_permission(
        &self,
        project: &Project,
        team_id: &str,
        user_id: &str,
        permission: &str,
    ) -> Result<bool> {
        let q = GrantQuery {
            team_id: Some(team_id.into()),
            user_id: Some(user_id.into()),
            permission_id: Some(permission.into()),
            recursive: true,
        };
        Ok(!self
            .list_permissions(project, Actor::Server, Scope::Team, &q)
            .await?
            .is_empty())
    }

    /// Stack's check before a team operation: the user is a member (`TEAM_MEMBERSHIP_NOT_FOUND`)
    /// and holds `permission` there (`TEAM_PERMISSION_REQUIRED`).
    pub async fn require_team_permission(
        &self,
        project: &Project,
        team_id: &str,
        user_id: &str,
        permission: &str,
    ) -> Result<()> {
        self.require_membership(&project.id, team_id, user_id)
            .await?;
        if !self
            .has_team_permission(project, team_id, user_id, permission)
            .await?
        {
            return Err(Error::TeamPermissionRequired {
                team_id: team_id.into(),
                user_id: user_id.into(),
                permission_id: permission.into(),
            });
        }
        Ok(())
    }

    /// The gate of every client-side team operation: server access passes; a browser needs a
    /// signed-in user holding `permission` in the team.
    pub async fn authorize_team(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
        permission: &str,
    ) -> Result<()> {
        match actor.client_user(|| Error::UserAuthenticationRequired)? {
            None => Ok(()),
            Some(me) => {
                self.require_team_permission(project, team_id, &me.id, permission)
                    .await
            }
        }
    }

    /// A member changing another member's team permissions from the hosted account page.
    /// Stack offers browsers no way to do this; Gatehouse's rule keeps it from escalating
    /// anyone: the member needs `$update_team`, may grant or revoke only permissions they hold
    /// themselves, and not their own.
    pub async fn set_member_permission(
        &self,
        project: &Project,
        me: &crate::users::User,
        team_id: &str,
        user_id: &str,
        permission: &str,
        granted: bool,
    ) -> Result<()> {
        self.require_team_permission(project, team_id, &me.id, "$update_team")
            .await?;
        if me.id == user_id {
            return Err(Error::Status(
                403,
                "You cannot change your own permissions.".into(),
            ));
        }
        self.require_team_permission(project, team_id, &me.id, permission)
            .await?;
        let who = Who::User(me.id.clone());
        if granted {
            self.grant_team_permission(project, team_id, user_id, permission, &who)
                .await?;
            Ok(())
        } else {
            self.revoke_team_permission(project, team_id, user_id, permission, &who)
                .await
        }
    }

    /// Checks that `permission` is defined for `scope` (`PERMISSION_NOT_FOUND`,
    /// `WRONG_PERMISSION_SCOPE`).
    fn check_grantable(project: &Project, scope: Scope, permission: &str) -> Result<()> {
        if scope == Scope::Team && TEAM_SYSTEM_PERMISSIONS.contains(&permission) {
            return Ok(());
        }
        match defined(&project.config.tree).get(permission) {
            None => Err(Error::PermissionNotFound(permission.into())),
            Some(p) if p["scope"].as_str() != Some(scope.as_str()) => {
                Err(Error::PermissionScopeMismatch {
                    permission_id: permission.into(),
                    expected: scope.as_str(),
                    actual: p["scope"].as_str().map(str::to_string),
                })
            }
            Some(_) => Ok(()),
        }
    }

    /// `POST /team-permissions/{team_id}/{user_id}/{permission_id}` (server access).
    pub async fn grant_team_permission(
        &self,
        project: &Project,
        team_id: &str,
        user_id: &str,
        permission: &str,
        who: &Who,
    ) -> Result<Grant> {
        self.require_membership(&project.id, team_id, user_id)
            .await?;
        Self::check_grantable(project, Scope::Team, permission)?;
        let mut tx = self.begin().await?;
        insert_team_grant(&mut tx, &project.id, team_id, user_id, permission, who).await?;
        tx.commit().await?;
        Ok(Grant {
            team_id: Some(team_id.into()),
            user_id: user_id.into(),
            id: permission.into(),
        })
    }

    /// `DELETE /team-permissions/{team_id}/{user_id}/{permission_id}`: only a direct grant can
    /// be revoked (`TEAM_PERMISSION_NOT_FOUND`).
    pub async fn revoke_team_permission(
        &self,
        project: &Project,
        team_id: &str,
        user_id: &str,
        permission: &str,
        who: &Who,
    ) -> Result<()> {
        self.require_membership(&project.id, team_id, user_id)
            .await?;
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "DELETE FROM team_member_permissions WHERE team_id = $1 AND user_id = $2 AND permission_id = $3",
        )
        .bind(team_id)
        .bind(user_id)
        .bind(permission)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::TeamPermissionNotFound {
                team_id: team_id.into(),
                user_id: user_id.into(),
                permission_id: permission.into(),
            });
        }
        let grant = Grant {
            team_id: Some(team_id.into()),
            user_id: user_id.into(),
            id: permission.into(),
        };
        record_grant(&mut tx, &project.id, who, "team_permission.deleted", &grant).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `POST /project-permissions/{user_id}/{permission_id}` (server access).
    pub async fn grant_project_permission(
        &self,
        project: &Project,
        user_id: &str,
        permission: &str,
        who: &Who,
    ) -> Result<Grant> {
        if self.user(&project.id, user_id).await?.is_none() {
            return Err(Error::UserNotFound);
        }
        Self::check_grantable(project, Scope::Project, permission)?;
        let mut tx = self.begin().await?;
        insert_user_grant(&mut tx, &project.id, user_id, permission, who).await?;
        tx.commit().await?;
        Ok(Grant {
            team_id: None,
            user_id: user_id.into(),
            id: permission.into(),
        })
    }

    /// `DELETE /project-permissions/{user_id}/{permission_id}`.
    pub async fn revoke_project_permission(
        &self,
        project: &Project,
        user_id: &str,
        permission: &str,
        who: &Who,
    ) -> Result<()> {
        if self.user(&project.id, user_id).await?.is_none() {
            return Err(Error::UserNotFound);
        }
        let mut tx = self.begin().await?;
        let done = sqlx::query(
            "DELETE FROM user_permissions WHERE project_id = $1 AND user_id = $2 AND permission_id = $3",
        )
        .bind(&project.id)
        .bind(user_id)
        .bind(permission)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::PermissionNotFound(permission.into()));
        }
        let grant = Grant {
            team_id: None,
            user_id: user_id.into(),
            id: permission.into(),
        };
        record_grant(
            &mut tx,
            &project.id,
            who,
            "project_permission.deleted",
            &grant,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A definition as the tree stores it.
fn definition_value(
    description: &Option<String>,
    contained: Option<&[String]>,
    scope: Scope,
) -> Value {
    let mut v = json!({
        "scope": scope.as_str(),
        "containedPermissionIds": contained.unwrap_or_default().iter().map(|c| (c.clone(), json!(true))).collect::<Map<_, _>>(),
    });
    if let Some(d) = description {
        v["description"] = json!(d);
    }
    v
}

/// Replaces (or with `None` removes) `old` wherever a permission contains it.
fn rename_contained(perms: &mut Map<String, Value>, old: &str, new: Option<&str>) {
    for p in perms.values_mut() {
        if let Some(Value::Object(c)) = p.get_mut("containedPermissionIds") {
            if c.remove(old).is_some() {
                if let Some(n) = new {
                    c.insert(n.into(), json!(true));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn grants_expand_transitively_and_skip_unknown_ids() {
        let tree = json!({"rbac": {"permissions": {
            "admin": {"scope": "team", "containedPermissionIds": {"editor": true}},
            "editor": {"scope": "team", "containedPermissionIds": {"viewer": true, "$read_members": true}},
            "viewer": {"scope": "team", "containedPermissionIds": {}},
        }}});
        let defs = definitions(&tree, Scope::Team);
        let g = |id: &str| Grant {
            team_id: Some("t".into()),
            user_id: "u".into(),
            id: id.into(),
        };
        let ids = |gs: Vec<Grant>| gs.into_iter().map(|g| g.id).collect::<Vec<_>>();
        assert_eq!(
            ids(expand(vec![g("admin"), g("gone")], &defs, false)),
            ["admin"]
        );
        assert_eq!(
            ids(expand(vec![g("admin")], &defs, true)),
            ["$read_members", "admin", "editor", "viewer"]
        );
    }

    #[test]
    fn cycles_are_found_with_their_chain() {
        let p = perms(json!({
            "a": {"containedPermissionIds": {"b": true}},
            "b": {"containedPermissionIds": {"c": true}},
            "c": {"containedPermissionIds": {"a": true}},
        }));
        assert_eq!(find_cycle(&p, "b").unwrap(), ["b", "c", "a", "b"]);
        let p = perms(json!({
            "a": {"containedPermissionIds": {"b": true, "c": true}},
            "b": {"containedPermissionIds": {"c": true}},
            "c": {"containedPermissionIds": {}},
        }));
        assert!(find_cycle(&p, "a").is_none());
    }

    #[test]
    fn permission_ids_follow_stacks_patterns() {
        assert!(custom_id_rule("", &json!("read:docs_2")).is_none());
        assert!(custom_id_rule("", &json!("Read")).is_some());
        assert!(custom_id_rule("", &json!("$update_team")).is_some());
        assert!(permission_id_rule("", &json!("$update_team")).is_none());
        assert_eq!(
            permission_id_rule("", &json!("$nope")).unwrap(),
            "Invalid system permission"
        );
    }
}
