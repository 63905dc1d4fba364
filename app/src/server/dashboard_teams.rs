//! The dashboard's server functions for teams and permissions: the teams room (list, a team's
//! members, invitations and metadata), the permissions room (definitions and default grants)
//! and a user's teams and permissions. Admins act with server access (`Actor::Server`).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;
use super::PendingInvitation;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TeamsPage {
    pub project_name: String,
    pub teams: Vec<TeamListRow>,
    /// The last team shown, when more follow.
    pub next_after: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TeamListRow {
    pub id: String,
    pub display_name: String,
    pub created_at: i64,
}

/// A page of a project's teams, oldest first, optionally those whose name (or id) matches.
#[server(prefix = "/_sfn")]
pub async fn project_teams(
    project_id: String,
    search: Option<String>,
    after: Option<String>,
) -> Result<TeamsPage, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let (teams, more) = ssr::core()
        .team_page(
            &project.id,
            &gatehouse_core::teams::TeamQuery {
                search,
                after: after.filter(|a| !a.is_empty()),
                limit: 50,
            },
        )
        .await
        .map_err(ssr::shown)?;
    let next_after = more.then(|| teams.last().map(|t| t.id.clone())).flatten();
    Ok(TeamsPage {
        project_name: project.display_name,
        teams: teams
            .into_iter()
            .map(|t| TeamListRow {
                id: t.id,
                display_name: t.display_name,
                created_at: t.created_at,
            })
            .collect(),
        next_after,
    })
}

/// Creates a team with no members and opens it.
#[server(prefix = "/_sfn")]
pub async fn admin_create_team(
    project_id: String,
    display_name: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::{Actor, TeamCreate};
    let project = ssr::administered_project(&project_id).await?;
    let name =
        ssr::non_empty(display_name).ok_or_else(|| ServerFnError::new("Give the team a name."))?;
    let team = ssr::core()
        .create_team(
            &project,
            Actor::Server,
            TeamCreate {
                display_name: name,
                ..Default::default()
            },
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)?;
    leptos_axum::redirect(&format!("/projects/{project_id}/teams/{}", team.id));
    Ok(())
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TeamDetail {
    pub project_name: String,
    pub id: String,
    pub display_name: String,
    pub profile_image_url: String,
    pub created_at: i64,
    pub client_metadata: String,
    pub client_read_only_metadata: String,
    pub server_metadata: String,
    pub members: Vec<TeamMemberRow>,
    pub invitations: Vec<PendingInvitation>,
    /// Every team permission, for granting.
    pub permissions: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TeamMemberRow {
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    pub joined_at: i64,
    /// Granted directly in this team.
    pub permissions: Vec<String>,
}

#[server(prefix = "/_sfn")]
pub async fn load_team(project_id: String, team_id: String) -> Result<TeamDetail, ServerFnError> {
    use gatehouse_core::teams::invitations::InvitationsOf;
    use gatehouse_core::teams::permissions::{definitions, GrantQuery, Scope};
    use gatehouse_core::teams::Actor;
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let team = core
        .existing_team(&project.id, &team_id)
        .await
        .map_err(ssr::shown)?;
    let grants = core
        .list_permissions(
            &project,
            Actor::Server,
            Scope::Team,
            &GrantQuery {
                team_id: Some(team.id.clone()),
                ..Default::default()
            },
        )
        .await
        .map_err(ssr::shown)?;
    let members = core
        .member_profiles(&project, Actor::Server, Some(&team.id), None)
        .await
        .map_err(ssr::shown)?
        .into_iter()
        .map(|m| TeamMemberRow {
            name: m.shown_name().map(str::to_string),
            email: m.user.primary_email.clone(),
            joined_at: m.joined_at,
            permissions: grants
                .iter()
                .filter(|g| g.user_id == m.user.id)
                .map(|g| g.id.clone())
                .collect(),
            user_id: m.user.id,
        })
        .collect();
    let invitations = core
        .team_invitations(&project, Actor::Server, InvitationsOf::Team(&team.id))
        .await
        .map_err(ssr::shown)?
        .into_iter()
        .map(|i| PendingInvitation {
            id: i.id,
            email: i.recipient_email,
            expires_at: i.expires_at,
        })
        .collect();
    Ok(TeamDetail {
        project_name: project.display_name.clone(),
        profile_image_url: team.profile_image_url.clone().unwrap_or_default(),
        client_metadata: ssr::pretty_json(&team.client_metadata),
        client_read_only_metadata: ssr::pretty_json(&team.client_read_only_metadata),
        server_metadata: ssr::pretty_json(&team.server_metadata),
        id: team.id,
        display_name: team.display_name,
        created_at: team.created_at,
        members,
        invitations,
        permissions: definitions(&project.config.tree, Scope::Team)
            .into_iter()
            .map(|d| d.id)
            .collect(),
    })
}

#[server(prefix = "/_sfn")]
pub async fn save_team(
    project_id: String,
    team_id: String,
    display_name: String,
    profile_image_url: String,
    client_metadata: String,
    client_read_only_metadata: String,
    server_metadata: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::{Actor, TeamUpdate};
    let project = ssr::administered_project(&project_id).await?;
    let json =
        |label: &str, text: &str| super::parse_metadata(label, text).map_err(ServerFnError::new);
    let update = TeamUpdate {
        display_name: Some(
            ssr::non_empty(display_name)
                .ok_or_else(|| ServerFnError::new("The team needs a name."))?,
        ),
        profile_image_url: Some(ssr::non_empty(profile_image_url)),
        client_metadata: Some(json("Client metadata", &client_metadata)?),
        client_read_only_metadata: Some(json(
            "Client read-only metadata",
            &client_read_only_metadata,
        )?),
        server_metadata: Some(json("Server metadata", &server_metadata)?),
    };
    ssr::core()
        .update_team(
            &project,
            Actor::Server,
            &team_id,
            update,
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// What the team page's buttons do: `add` (the user `target`, an id or a sign-in email),
/// `remove` (member `target`), `grant`/`revoke` (`permission` of member `target`), `invite`
/// (email `target`), `withdraw` (invitation `target`), `delete` (the team).
#[server(prefix = "/_sfn")]
pub async fn admin_team_action(
    project_id: String,
    team_id: String,
    action: String,
    target: Option<String>,
    permission: Option<String>,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::Actor;
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let target = target.unwrap_or_default().trim().to_string();
    let permission = permission.unwrap_or_default();
    match action.as_str() {
        "add" => {
            let user = match core.user(&project.id, &target).await.map_err(ssr::shown)? {
                Some(u) => Some(u),
                None => core
                    .user_by_auth_email(&project.id, &target.to_lowercase())
                    .await
                    .map_err(ssr::shown)?,
            };
            let user = user.ok_or_else(|| {
                ServerFnError::new(format!("No user has the id or sign-in email {target:?}."))
            })?;
            core.add_team_member(&project, &team_id, &user.id, &ssr::acting_admin().await?)
                .await
                .map_err(ssr::shown)?;
        }
        "remove" => core
            .remove_team_member(
                &project,
                Actor::Server,
                &team_id,
                &target,
                &ssr::acting_admin().await?,
            )
            .await
            .map_err(ssr::shown)?,
        "grant" => {
            core.grant_team_permission(
                &project,
                &team_id,
                &target,
                &permission,
                &ssr::acting_admin().await?,
            )
            .await
            .map_err(ssr::shown)?;
        }
        "revoke" => core
            .revoke_team_permission(
                &project,
                &team_id,
                &target,
                &permission,
                &ssr::acting_admin().await?,
            )
            .await
            .map_err(ssr::shown)?,
        "invite" => {
            let page = format!("{}/handler/{}/team-invitation", core.public_url, project.id);
            core.send_team_invitation(&project, Actor::Server, &team_id, &target, &page)
                .await
                .map_err(ssr::shown)?;
        }
        "withdraw" => core
            .revoke_team_invitation(&project, Actor::Server, &team_id, &target)
            .await
            .map_err(ssr::shown)?,
        "delete" => {
            core.delete_team(
                &project,
                Actor::Server,
                &team_id,
                &ssr::acting_admin().await?,
            )
            .await
            .map_err(ssr::shown)?;
            leptos_axum::redirect(&format!("/projects/{project_id}/teams"));
        }
        other => return Err(ServerFnError::new(format!("Unknown action {other:?}."))),
    }
    Ok(())
}

/// A permission definition as the permissions room shows it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PermissionRow {
    pub id: String,
    pub description: String,
    pub contained: Vec<String>,
    pub system: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PermissionsView {
    pub project_name: String,
    pub team: Vec<PermissionRow>,
    pub project: Vec<PermissionRow>,
    pub team_creator: Vec<String>,
    pub team_member: Vec<String>,
    pub sign_up: Vec<String>,
}

#[server(prefix = "/_sfn")]
pub async fn load_permissions(project_id: String) -> Result<PermissionsView, ServerFnError> {
    use gatehouse_core::teams::permissions::{definitions, Scope};
    let project = ssr::administered_project(&project_id).await?;
    let tree = &project.config.tree;
    let rows = |scope| {
        definitions(tree, scope)
            .into_iter()
            .map(|d| PermissionRow {
                system: d.is_system(),
                description: d.description.clone().unwrap_or_default(),
                contained: d.contained,
                id: d.id,
            })
            .collect()
    };
    let defaults = |which: &str| -> Vec<String> {
        let mut ids: Vec<String> = tree
            .pointer(&format!("/rbac/defaultPermissions/{which}"))
            .and_then(|v| v.as_object())
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        ids.sort();
        ids
    };
    Ok(PermissionsView {
        project_name: project.display_name.clone(),
        team: rows(Scope::Team),
        project: rows(Scope::Project),
        team_creator: defaults("teamCreator"),
        team_member: defaults("teamMember"),
        sign_up: defaults("signUp"),
    })
}

#[cfg(feature = "ssr")]
fn scope_named(scope: &str) -> Result<gatehouse_core::teams::permissions::Scope, ServerFnError> {
    use gatehouse_core::teams::permissions::Scope;
    match scope {
        "team" => Ok(Scope::Team),
        "project" => Ok(Scope::Project),
        other => Err(ServerFnError::new(format!("Unknown scope {other:?}."))),
    }
}

/// Ids typed into a field, separated by spaces or commas.
#[cfg(feature = "ssr")]
fn id_list(text: &str) -> Vec<String> {
    text.split(|c: char| c.is_whitespace() || c == ',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Creates a definition (no `old_id`) or changes one (a new `id` renames it).
#[server(prefix = "/_sfn")]
pub async fn save_permission(
    project_id: String,
    scope: String,
    old_id: Option<String>,
    id: String,
    description: String,
    contained: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::permissions::{custom_id_rule, DefinitionInput};
    let project = ssr::administered_project(&project_id).await?;
    let scope = scope_named(&scope)?;
    let id = id.trim().to_string();
    if let Some(problem) = custom_id_rule("id", &serde_json::json!(id)) {
        return Err(ServerFnError::new(format!("{id:?}: {problem}.")));
    }
    let input = DefinitionInput {
        id: Some(id),
        description: ssr::non_empty(description),
        contained_permission_ids: Some(id_list(&contained)),
    };
    let core = ssr::core();
    match old_id.filter(|o| !o.is_empty()) {
        Some(old) => core
            .update_permission_definition(&project, scope, &old, input, &ssr::acting_admin().await?)
            .await
            .map(|_| ()),
        None => core
            .create_permission_definition(&project, scope, input, &ssr::acting_admin().await?)
            .await
            .map(|_| ()),
    }
    .map_err(ssr::shown)?;
    Ok(())
}

#[server(prefix = "/_sfn")]
pub async fn delete_permission(
    project_id: String,
    scope: String,
    id: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .delete_permission_definition(
            &project,
            scope_named(&scope)?,
            &id,
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// Sets a default grant list (`teamCreator`, `teamMember` or `signUp`) from typed ids.
#[server(prefix = "/_sfn")]
pub async fn save_default_permissions(
    project_id: String,
    which: String,
    ids: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    ssr::core()
        .set_default_permissions(
            &project,
            &which,
            &id_list(&ids),
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// A user's teams (with their permissions there) and project permissions.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserAccess {
    pub teams: Vec<UserTeamRow>,
    pub project_permissions: Vec<String>,
    /// Every project permission, for granting.
    pub grantable: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserTeamRow {
    pub id: String,
    pub display_name: String,
    pub permissions: Vec<String>,
}

#[server(prefix = "/_sfn")]
pub async fn load_user_access(
    project_id: String,
    user_id: String,
) -> Result<UserAccess, ServerFnError> {
    use gatehouse_core::teams::permissions::{definitions, GrantQuery, Scope};
    use gatehouse_core::teams::Actor;
    let project = ssr::administered_project(&project_id).await?;
    let user = ssr::project_user(&project, &user_id).await?;
    let core = ssr::core();
    let grants = |scope| {
        let (core, project, user_id) = (core.clone(), project.clone(), user.id.clone());
        async move {
            core.list_permissions(
                &project,
                Actor::Server,
                scope,
                &GrantQuery {
                    user_id: Some(user_id),
                    ..Default::default()
                },
            )
            .await
            .map_err(ssr::shown)
        }
    };
    let team_grants = grants(Scope::Team).await?;
    let teams = core
        .list_teams(&project, Actor::Server, Some(&user.id))
        .await
        .map_err(ssr::shown)?
        .into_iter()
        .map(|t| UserTeamRow {
            permissions: team_grants
                .iter()
                .filter(|g| g.team_id.as_deref() == Some(t.id.as_str()))
                .map(|g| g.id.clone())
                .collect(),
            id: t.id,
            display_name: t.display_name,
        })
        .collect();
    Ok(UserAccess {
        teams,
        project_permissions: grants(Scope::Project)
            .await?
            .into_iter()
            .map(|g| g.id)
            .collect(),
        grantable: definitions(&project.config.tree, Scope::Project)
            .into_iter()
            .map(|d| d.id)
            .collect(),
    })
}

/// Grants (`grant` set) or revokes a project permission of a user.
#[server(prefix = "/_sfn")]
pub async fn set_user_permission(
    project_id: String,
    user_id: String,
    permission: String,
    grant: Option<String>,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    if grant.is_some() {
        core.grant_project_permission(&project, &user_id, &permission, &ssr::acting_admin().await?)
            .await
            .map_err(ssr::shown)?;
    } else {
        core.revoke_project_permission(
            &project,
            &user_id,
            &permission,
            &ssr::acting_admin().await?,
        )
        .await
        .map_err(ssr::shown)?;
    }
    Ok(())
}

/// A project's dashboard admins (its owning team's members) and pending invitations.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdminsView {
    pub team_name: String,
    pub admins: Vec<AdminRow>,
    pub invitations: Vec<PendingInvitation>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AdminRow {
    pub user_id: String,
    pub email: Option<String>,
    pub is_me: bool,
}

#[server(prefix = "/_sfn")]
pub async fn load_project_admins(project_id: String) -> Result<AdminsView, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let (_, me) = ssr::signed_in(gatehouse_core::projects::INTERNAL_PROJECT_ID).await?;
    let admins = ssr::core()
        .project_admins(&project)
        .await
        .map_err(ssr::shown)?;
    Ok(AdminsView {
        team_name: admins.team.display_name,
        admins: admins
            .members
            .into_iter()
            .map(|m| AdminRow {
                is_me: m.user.id == me.id,
                email: m.user.primary_email,
                user_id: m.user.id,
            })
            .collect(),
        invitations: admins
            .invitations
            .into_iter()
            .map(|i| PendingInvitation {
                id: i.id,
                email: i.recipient_email,
                expires_at: i.expires_at,
            })
            .collect(),
    })
}

/// `invite` (email `target`), `remove` (admin `target`) or `withdraw` (invitation `target`).
#[server(prefix = "/_sfn")]
pub async fn project_admin_action(
    project_id: String,
    action: String,
    target: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let (_, me) = ssr::signed_in(gatehouse_core::projects::INTERNAL_PROJECT_ID).await?;
    let core = ssr::core();
    let target = target.trim();
    match action.as_str() {
        "invite" => core.invite_project_admin(&project, &me, target).await,
        "remove" => {
            let who = gatehouse_core::events::Who::Admin(Some(me.id.clone()));
            core.remove_project_admin(&project, target, &who).await
        }
        "withdraw" => core.withdraw_admin_invitation(&project, target).await,
        other => return Err(ServerFnError::new(format!("Unknown action {other:?}."))),
    }
    .map_err(ssr::shown)?;
    if action == "remove" && target == me.id {
        // They left: the project is no longer theirs to see.
        leptos_axum::redirect("/");
    }
    Ok(())
}
