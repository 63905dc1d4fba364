//! A project's dashboard admins: the members of the internal-project team that owns it (as in
//! Stack, a team owns projects and its members manage all of them). Admins invite others by
//! email with a team invitation of the internal project; the invitee follows the link to the
//! dashboard's invitation page and may create their account there even while dashboard sign-up
//! is closed (see [`Core::password_sign_up_by_invitation`]).

use crate::codes::CodeKind;
use crate::error::{Error, Result};
use crate::projects::{Project, INTERNAL_PROJECT_ID};
use crate::teams::invitations::{Invitation, InvitationsOf};
use crate::teams::members::MemberProfile;
use crate::teams::{Actor, Team};
use crate::users::User;
use crate::Core;

/// Who manages a project: its owning team, that team's members, and invitations to it.
#[derive(Clone, Debug)]
pub struct ProjectAdmins {
    pub team: Team,
    pub members: Vec<MemberProfile>,
    pub invitations: Vec<Invitation>,
}

impl Core {
    /// Creates a project for a dashboard user: owned by the team the request names (one of
    /// theirs), else by their first team, made for them when they have none.
    pub async fn create_project_for(
        &self,
        user_id: &str,
        input: crate::projects::ProjectCreate,
    ) -> Result<crate::projects::Project> {
        let team = match &input.owner_team_id {
            Some(team) if self.is_team_member(team, user_id).await? => team.clone(),
            Some(team) => return Err(Error::TeamNotFound(team.clone())),
            None => self.owning_team_of(user_id).await?,
        };
        let who = crate::events::Who::Admin(Some(user_id.to_string()));
        self.create_project(Some(team), input, &who).await
    }

    /// The dashboard user's first team, which owns their projects; their personal team is made
    /// when they have none.
    pub(crate) async fn owning_team_of(&self, user_id: &str) -> Result<String> {
        if let Some(team) = self.teams_of_user(user_id).await?.into_iter().next() {
            return Ok(team.id);
        }
        let internal = self.internal_project().await?;
        let who = crate::events::Who::User(user_id.to_string());
        let mut tx = self.begin().await?;
        let team =
            crate::teams::insert_team(&mut tx, &internal, "Personal Team", Some(user_id), &who)
                .await?;
        tx.commit().await?;
        Ok(team)
    }

    async fn owner_team(&self, project: &Project) -> Result<(std::sync::Arc<Project>, Team)> {
        let internal = self
            .project_cached(INTERNAL_PROJECT_ID)
            .await?
            .ok_or_else(|| Error::internal("the internal project is missing"))?;
        let team_id = project.owner_team_id.as_deref().ok_or_else(|| {
            Error::Status(
                400,
                "This project is owned by no team (it was made from the command line), so it has no dashboard admins to invite to.".into(),
            )
        })?;
        let team = self.existing_team(INTERNAL_PROJECT_ID, team_id).await?;
        Ok((internal, team))
    }

    pub async fn project_admins(&self, project: &Project) -> Result<ProjectAdmins> {
        let (internal, team) = self.owner_team(project).await?;
        let members = self
            .member_profiles(&internal, Actor::Server, Some(&team.id), None)
            .await?;
        let invitations = self
            .team_invitations(&internal, Actor::Server, InvitationsOf::Team(&team.id))
            .await?;
        Ok(ProjectAdmins {
            team,
            members,
            invitations,
        })
    }

    /// Mails `email` an invitation to manage the project (with every other project of its
    /// team), from `admin`, leading to the dashboard's invitation page.
    pub async fn invite_project_admin(
        &self,
        project: &Project,
        admin: &User,
        email: &str,
    ) -> Result<()> {
        let (internal, team) = self.owner_team(project).await?;
        let page = format!(
            "{}/handler/{INTERNAL_PROJECT_ID}/team-invitation",
            self.public_url
        );
        self.mail_team_invitation(&internal, &team, Some(admin), email, &page)
            .await?;
        Ok(())
    }

    /// Removes an admin (leaving oneself included); a team keeps at least one.
    pub async fn remove_project_admin(
        &self,
        project: &Project,
        user_id: &str,
        who: &crate::events::Who,
    ) -> Result<()> {
        let (internal, team) = self.owner_team(project).await?;
        let admins = self
            .member_profiles(&internal, Actor::Server, Some(&team.id), None)
            .await?;
        if admins.len() <= 1 {
            return Err(Error::Status(
                400,
                "A project keeps at least one admin. Invite someone else first.".into(),
            ));
        }
        self.remove_team_member(&internal, Actor::Server, &team.id, user_id, who)
            .await
    }

    pub async fn withdraw_admin_invitation(&self, project: &Project, id: &str) -> Result<()> {
        let (internal, team) = self.owner_team(project).await?;
        self.revoke_team_invitation(&internal, Actor::Server, &team.id, id)
            .await
    }

    /// Signs up the person an invitation was mailed to, with that address, even where the
    /// project takes no new sign-ups (a closed dashboard letting an invited admin in). Reading
    /// the code proves the address, so it starts verified.
    pub async fn password_sign_up_by_invitation(
        &self,
        project: &Project,
        input: crate::sign_up::PasswordSignUp,
        code: &str,
    ) -> Result<crate::sessions::Tokens> {
        if !project.config.credential_enabled {
            return Err(Error::PasswordAuthenticationNotEnabled);
        }
        let invitation = self
            .check_code(&project.id, CodeKind::TeamInvitation, code)
            .await?;
        let email = crate::users::parse_email(&input.email, "body.email")?;
        if invitation.method["email"].as_str() != Some(email.as_str()) {
            return Err(Error::Status(
                403,
                "This invitation was sent to another address: sign up with the address it was sent to."
                    .into(),
            ));
        }
        let input = crate::sign_up::PasswordSignUp {
            email_proven: true,
            ..input
        };
        self.password_sign_up_as(project, None, input, true).await
    }
}
