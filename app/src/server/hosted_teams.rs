//! The hosted pages' server functions for teams: the account page's teams section (create,
//! select, leave, name yourself per team; for those with the permissions, members,
//! invitations and permissions) and the invitation page. Each is a form post over the same
//! core calls the REST API makes, as the signed-in user (client rules).

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// A team of the signed-in user, with what they may do in it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TeamCard {
    pub id: String,
    pub display_name: String,
    pub selected: bool,
    /// Their own name in this team, if they set one.
    pub my_name: String,
    pub can_invite: bool,
    pub can_remove: bool,
    pub can_delete: bool,
    /// May change others' permissions (`$update_team`).
    pub can_manage_permissions: bool,
    /// Empty unless they may read the members (`$read_members`).
    pub members: Vec<MemberRow>,
    /// Empty unless they may see invitations (`$read_members` and `$invite_members`).
    pub invitations: Vec<PendingInvitation>,
    /// The permissions they hold and may hand on.
    pub grantable: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MemberRow {
    pub user_id: String,
    pub name: String,
    pub email: Option<String>,
    pub is_me: bool,
    /// Permissions granted directly (what others can change).
    pub permissions: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PendingInvitation {
    pub id: String,
    pub email: String,
    pub expires_at: i64,
}

/// An invitation sent to one of the user's verified addresses.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InvitationForMe {
    pub id: String,
    pub team_display_name: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct TeamsPanel {
    pub teams: Vec<TeamCard>,
    pub invitations: Vec<InvitationForMe>,
    /// The project lets users create teams.
    pub can_create: bool,
}

#[cfg(feature = "ssr")]
async fn team_card(
    project: &gatehouse_core::projects::Project,
    user: &gatehouse_core::users::User,
    team: gatehouse_core::teams::Team,
) -> Result<TeamCard, gatehouse_core::Error> {
    use gatehouse_core::teams::permissions::{GrantQuery, Scope};
    use gatehouse_core::teams::Actor;
    let core = ssr::core();
    let held = core
        .list_permissions(
            project,
            Actor::Server,
            Scope::Team,
            &GrantQuery {
                team_id: Some(team.id.clone()),
                user_id: Some(user.id.clone()),
                permission_id: None,
                recursive: true,
            },
        )
        .await?;
    let has = |p: &str| held.iter().any(|g| g.id == p);
    let me = Actor::Client(Some(user));
    let mine = core.member_profile(project, me, &team.id, &user.id).await?;
    let mut members = vec![];
    if has("$read_members") {
        let direct = core
            .list_permissions(
                project,
                Actor::Server,
                Scope::Team,
                &GrantQuery {
                    team_id: Some(team.id.clone()),
                    ..Default::default()
                },
            )
            .await?;
        for m in core
            .member_profiles(project, me, Some(&team.id), None)
            .await?
        {
            members.push(MemberRow {
                name: m.shown_name().unwrap_or("").to_string(),
                email: m.user.primary_email.clone(),
                is_me: m.user.id == user.id,
                permissions: direct
                    .iter()
                    .filter(|g| g.user_id == m.user.id)
                    .map(|g| g.id.clone())
                    .collect(),
                user_id: m.user.id,
            });
        }
    }
    let invitations = if has("$read_members") && has("$invite_members") {
        core.team_invitations(
            project,
            me,
            gatehouse_core::teams::invitations::InvitationsOf::Team(&team.id),
        )
        .await?
        .into_iter()
        .map(|i| PendingInvitation {
            id: i.id,
            email: i.recipient_email,
            expires_at: i.expires_at,
        })
        .collect()
    } else {
        vec![]
    };
    let can_manage_permissions = has("$update_team");
    Ok(TeamCard {
        selected: user.selected_team_id.as_deref() == Some(team.id.as_str()),
        my_name: mine.display_name.unwrap_or_default(),
        can_invite: has("$invite_members"),
        can_remove: has("$remove_members"),
        can_delete: has("$delete_team"),
        can_manage_permissions,
        grantable: if can_manage_permissions {
            held.iter().map(|g| g.id.clone()).collect()
        } else {
            vec![]
        },
        members,
        invitations,
        id: team.id,
        display_name: team.display_name,
    })
}

#[server(prefix = "/_sfn")]
pub async fn my_teams(project_id: String) -> Result<TeamsPanel, ServerFnError> {
    use gatehouse_core::teams::invitations::InvitationsOf;
    use gatehouse_core::teams::Actor;
    let Some((_, user)) = ssr::page_user(&project_id).await? else {
        return Ok(TeamsPanel::default());
    };
    let project = ssr::project(&project_id).await?;
    let core = ssr::core();
    let mut teams = vec![];
    for team in core
        .list_teams(&project, Actor::Client(Some(&user)), Some(&user.id))
        .await
        .map_err(ssr::shown)?
    {
        teams.push(team_card(&project, &user, team).await.map_err(ssr::shown)?);
    }
    let invitations = core
        .team_invitations(
            &project,
            Actor::Client(Some(&user)),
            InvitationsOf::User(&user.id),
        )
        .await
        .map_err(ssr::shown)?
        .into_iter()
        .filter(|i| !teams.iter().any(|t| t.id == i.team_id))
        .map(|i| InvitationForMe {
            id: i.id,
            team_display_name: i.team_display_name,
        })
        .collect();
    Ok(TeamsPanel {
        teams,
        invitations,
        can_create: project.config.client_team_creation_enabled,
    })
}

#[cfg(feature = "ssr")]
fn back_to_teams(project_id: &str, done: &str) {
    leptos_axum::redirect(&format!(
        "/handler/{project_id}/account-settings?done={done}#teams"
    ));
}

/// Creates a team with the user as its first member, and selects it (as the SDK does).
#[server(prefix = "/_sfn")]
pub async fn create_team(project_id: String, display_name: String) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::{Actor, TeamCreate};
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let name =
        ssr::non_empty(display_name).ok_or_else(|| ServerFnError::new("Give the team a name."))?;
    let core = ssr::core();
    let team = core
        .create_team(
            &project,
            Actor::Client(Some(&user)),
            TeamCreate {
                display_name: name,
                ..Default::default()
            },
            &gatehouse_core::events::Who::User(user.id.clone()),
        )
        .await
        .map_err(ssr::shown)?;
    select(&project, &user, Some(team.id)).await?;
    back_to_teams(&project_id, "team-created");
    Ok(())
}

#[cfg(feature = "ssr")]
async fn select(
    project: &gatehouse_core::projects::Project,
    user: &gatehouse_core::users::User,
    team: Option<String>,
) -> Result<(), ServerFnError> {
    ssr::core()
        .update_user(
            project,
            user,
            gatehouse_core::users::UserUpdate {
                selected_team_id: Some(team),
                ..Default::default()
            },
            &gatehouse_core::events::Who::User(user.id.clone()),
        )
        .await
        .map_err(ssr::shown)?;
    Ok(())
}

/// What a team's own buttons do: `select`, `leave`, `delete`, `join` (an invitation to the
/// user's address, by its id in `team_id`), or `rename-me` (their name in the team, `value`).
#[server(prefix = "/_sfn")]
pub async fn team_action(
    project_id: String,
    team_id: String,
    action: String,
    value: Option<String>,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::Actor;
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let core = ssr::core();
    let me = Actor::Client(Some(&user));
    let who = gatehouse_core::events::Who::User(user.id.clone());
    let done = match action.as_str() {
        "select" => {
            select(&project, &user, Some(team_id)).await?;
            "team-selected"
        }
        "leave" => {
            core.remove_team_member(&project, me, &team_id, &user.id, &who)
                .await
                .map_err(ssr::shown)?;
            "team-left"
        }
        "delete" => {
            core.delete_team(&project, me, &team_id, &who)
                .await
                .map_err(ssr::shown)?;
            "team-deleted"
        }
        "join" => {
            core.accept_team_invitation_by_id(&project, me, &user.id, &team_id)
                .await
                .map_err(ssr::shown)?;
            "team-joined"
        }
        "rename-me" => {
            core.update_member_profile(
                &project,
                me,
                &team_id,
                &user.id,
                gatehouse_core::teams::members::ProfileUpdate {
                    display_name: Some(value.unwrap_or_default().trim().to_string()),
                    profile_image_url: None,
                },
            )
            .await
            .map_err(ssr::shown)?;
            "team-profile"
        }
        other => return Err(ServerFnError::new(format!("Unknown action {other:?}."))),
    };
    back_to_teams(&project_id, done);
    Ok(())
}

/// Mails an invitation to join the team, leading to the hosted invitation page.
#[server(prefix = "/_sfn")]
pub async fn invite_member(
    project_id: String,
    team_id: String,
    email: String,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::Actor;
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let core = ssr::core();
    let page = format!("{}/handler/{project_id}/team-invitation", core.public_url);
    core.send_team_invitation(
        &project,
        Actor::Client(Some(&user)),
        &team_id,
        email.trim(),
        &page,
    )
    .await
    .map_err(ssr::shown)?;
    back_to_teams(&project_id, "invited");
    Ok(())
}

/// What a team admin does to a member or invitation: `remove` (the member `target`),
/// `withdraw` (the invitation `target`), `grant` or `revoke` (`permission` of `target`).
#[server(prefix = "/_sfn")]
pub async fn member_action(
    project_id: String,
    team_id: String,
    target: String,
    action: String,
    permission: Option<String>,
) -> Result<(), ServerFnError> {
    use gatehouse_core::teams::Actor;
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let core = ssr::core();
    let me = Actor::Client(Some(&user));
    let who = gatehouse_core::events::Who::User(user.id.clone());
    let permission = permission.unwrap_or_default();
    match action.as_str() {
        "remove" => core
            .remove_team_member(&project, me, &team_id, &target, &who)
            .await
            .map_err(ssr::shown)?,
        "withdraw" => core
            .revoke_team_invitation(&project, me, &team_id, &target)
            .await
            .map_err(ssr::shown)?,
        "grant" | "revoke" => core
            .set_member_permission(
                &project,
                &user,
                &team_id,
                &target,
                &permission,
                action == "grant",
            )
            .await
            .map_err(ssr::shown)?,
        other => return Err(ServerFnError::new(format!("Unknown action {other:?}."))),
    }
    back_to_teams(&project_id, "members");
    Ok(())
}

/// What the invitation page shows.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct InvitationSummary {
    pub team_display_name: String,
    pub inviter_name: Option<String>,
    pub recipient_email: String,
    /// The signed-in user's email, if someone is signed in.
    pub signed_in_as: Option<String>,
    pub already_member: bool,
}

#[server(prefix = "/_sfn")]
pub async fn invitation_info(
    project_id: String,
    code: String,
) -> Result<InvitationSummary, ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let user = ssr::page_user(&project_id).await?.map(|(_, u)| u);
    let core = ssr::core();
    let details = core
        .preview_team_invitation(&project, &code)
        .await
        .map_err(ssr::shown)?;
    let already_member = match &user {
        Some(u) => core
            .is_team_member(&details.team_id, &u.id)
            .await
            .map_err(ssr::shown)?,
        None => false,
    };
    Ok(InvitationSummary {
        team_display_name: details.team_display_name,
        inviter_name: details.inviter_name,
        recipient_email: details.recipient_email,
        signed_in_as: user.map(|u| u.primary_email.unwrap_or_else(|| "your account".into())),
        already_member,
    })
}

/// Joins the team of the invitation, as the signed-in user, and shows their teams.
#[server(prefix = "/_sfn")]
pub async fn accept_invitation(project_id: String, code: String) -> Result<(), ServerFnError> {
    let project = ssr::project(&project_id).await?;
    let (_, user) = ssr::signed_in(&project_id).await?;
    let core = ssr::core();
    let team = core
        .accept_team_invitation(&project, Some(&user), code.trim())
        .await
        .map_err(ssr::shown)?;
    let user = core
        .user(&project.id, &user.id)
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| ServerFnError::new("Your account is gone."))?;
    select(&project, &user, Some(team)).await?;
    if project.id == gatehouse_core::projects::INTERNAL_PROJECT_ID {
        // A new dashboard admin: to the projects they now manage.
        leptos_axum::redirect("/");
    } else {
        back_to_teams(&project_id, "team-joined");
    }
    Ok(())
}
