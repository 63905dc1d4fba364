//! Team invitations: a one-time code (kind `TEAM_INVITATION`) mailed to an address with the
//! `team_invitation` template; whoever signs in and uses it joins the team.

use serde_json::{json, Value};

use super::members::{add_member, MemberKind};
use super::Actor;
use crate::codes::{consume_code, issue_code, Code, CodeKind, NewCode};
use crate::emails::{queue_email, templates, NewEmail, Recipient};
use crate::error::{Error, Result};
use crate::events::Tx;
use crate::projects::Project;
use crate::users::contact_channels::link_with_code;
use crate::users::User;
use crate::Core;

/// A pending invitation, as `/team-invitations` shows it.
#[derive(Clone, Debug)]
pub struct Invitation {
    pub id: String,
    pub team_id: String,
    pub team_display_name: String,
    pub recipient_email: String,
    pub expires_at: i64,
    pub created_at: i64,
}

impl Invitation {
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "team_id": self.team_id,
            "team_display_name": self.team_display_name,
            "expires_at_millis": self.expires_at,
            "recipient_email": self.recipient_email,
        })
    }
}

/// What the invitation page shows before it is accepted.
#[derive(Clone, Debug)]
pub struct InvitationDetails {
    pub team_id: String,
    pub team_display_name: String,
    /// Who sent it, when a signed-in member did.
    pub inviter_name: Option<String>,
    pub recipient_email: String,
    /// The signed-in user is a member already.
    pub already_member: bool,
}

/// Whose invitations to list.
#[derive(Clone, Copy, Debug)]
pub enum InvitationsOf<'a> {
    Team(&'a str),
    /// Those sent to the user's verified addresses.
    User(&'a str),
}

fn team_of(code: &Code) -> &str {
    code.data["team_id"].as_str().unwrap_or_default()
}

fn recipient_of(code: &Code) -> String {
    code.method["email"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Withdraws every pending invitation to a team (it is being deleted).
pub(crate) async fn revoke_team_invitations(
    tx: &mut Tx,
    project_id: &str,
    team_id: &str,
) -> Result<()> {
    let ids: Vec<(String, String)> = sqlx::query_as(
        "SELECT id, data FROM one_time_codes WHERE project_id = $1 AND kind = $2 AND used_at IS NULL",
    )
    .bind(project_id)
    .bind(CodeKind::TeamInvitation.as_str())
    .fetch_all(&mut **tx)
    .await?;
    for (id, data) in ids {
        let data: Value = serde_json::from_str(&data).unwrap_or_default();
        if data["team_id"].as_str() == Some(team_id) {
            sqlx::query("DELETE FROM one_time_codes WHERE id = $1")
                .bind(&id)
                .execute(&mut **tx)
                .await?;
        }
    }
    Ok(())
}

/// Restricted users (anonymous, unverified where verification is required, restricted by an
/// admin) finish signing up before joining teams.
fn check_not_restricted(user: &User) -> Result<()> {
    match user.restricted_reason() {
        Some(reason) => Err(Error::TeamInvitationRestrictedUserNotAllowed(reason)),
        None => Ok(()),
    }
}

impl Core {
    /// `POST /team-invitations/send-code`: mails `email` a link to `callback_url` (which the
    /// project must trust) carrying the code. A browser's user needs `$invite_members`.
    pub async fn send_team_invitation(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
        email: &str,
        callback_url: &str,
    ) -> Result<String> {
        let inviter = actor.client_user(|| Error::UserAuthenticationRequired)?;
        self.authorize_team(project, actor, team_id, "$invite_members")
            .await?;
        let team = self.existing_team(&project.id, team_id).await?;
        self.mail_team_invitation(project, &team, inviter, email, callback_url)
            .await
    }

    /// Issues an invitation to `team` and mails it, once whoever asks may invite; `inviter` is
    /// named on the invitation page.
    pub(crate) async fn mail_team_invitation(
        &self,
        project: &Project,
        team: &super::Team,
        inviter: Option<&User>,
        email: &str,
        callback_url: &str,
    ) -> Result<String> {
        self.check_callback_url(project, callback_url)?;
        let email = crate::users::parse_email(email, "body.email")?;
        let mut tx = self.begin().await?;
        let issued = issue_code(
            &mut tx,
            NewCode {
                project_id: project.id.clone(),
                kind: CodeKind::TeamInvitation,
                user_id: None,
                method: json!({ "email": email }),
                data: json!({ "team_id": team.id, "inviter_user_id": inviter.map(|u| u.id.clone()) }),
                redirect_url: Some(callback_url.into()),
                lifetime_ms: None,
            },
        )
        .await?;
        queue_email(
            &mut tx,
            &self.public_url,
            project,
            NewEmail::from_template(
                Recipient::CustomEmails {
                    emails: vec![email.clone()],
                },
                templates::TEAM_INVITATION,
                json!({
                    "teamInvitationLink": link_with_code(callback_url, &issued.code),
                    "teamDisplayName": team.display_name,
                }),
            ),
        )
        .await?;
        tx.commit().await?;
        self.jobs_written();
        Ok(issued.record.id)
    }

    /// `GET /team-invitations?team_id=|user_id=`. A browser lists a team's only with
    /// `$read_members` and `$invite_members`, and a user's only for itself.
    pub async fn team_invitations(
        &self,
        project: &Project,
        actor: Actor<'_>,
        of: InvitationsOf<'_>,
    ) -> Result<Vec<Invitation>> {
        let me = actor.client_user(|| Error::CannotGetOwnUserWithoutUser)?;
        let live = self
            .live_codes(&project.id, CodeKind::TeamInvitation)
            .await?;
        let mut names = std::collections::HashMap::new();
        let codes: Vec<Code> = match of {
            InvitationsOf::Team(team_id) => {
                match me {
                    Some(me) => {
                        self.require_membership(&project.id, team_id, &me.id)
                            .await?;
                        for p in ["$read_members", "$invite_members"] {
                            self.require_team_permission(project, team_id, &me.id, p)
                                .await?;
                        }
                    }
                    None => {
                        self.existing_team(&project.id, team_id).await?;
                    }
                }
                live.into_iter().filter(|c| team_of(c) == team_id).collect()
            }
            InvitationsOf::User(user_id) => {
                if me.is_some_and(|me| me.id != user_id) {
                    return Err(Error::CannotGetOwnUserWithoutUser);
                }
                let verified: Vec<String> = self
                    .contact_channels(&project.id, user_id)
                    .await?
                    .into_iter()
                    .filter(|c| c.is_verified)
                    .map(|c| c.value)
                    .collect();
                live.into_iter()
                    .filter(|c| verified.contains(&recipient_of(c)))
                    .collect()
            }
        };
        let mut out = Vec::with_capacity(codes.len());
        for code in codes {
            let team_id = team_of(&code).to_string();
            if !names.contains_key(&team_id) {
                let name = self
                    .team(&project.id, &team_id)
                    .await?
                    .map(|t| t.display_name);
                names.insert(team_id.clone(), name);
            }
            // Invitations to a team deleted since are not shown.
            let Some(Some(name)) = names.get(&team_id) else {
                continue;
            };
            out.push(Invitation {
                id: code.id.clone(),
                team_display_name: name.clone(),
                recipient_email: recipient_of(&code),
                expires_at: code.expires_at,
                created_at: code.created_at,
                team_id,
            });
        }
        out.sort_by_key(|i| i.created_at);
        Ok(out)
    }

    /// `DELETE /team-invitations/{id}?team_id=`: a browser's user needs `$remove_members`.
    pub async fn revoke_team_invitation(
        &self,
        project: &Project,
        actor: Actor<'_>,
        team_id: &str,
        id: &str,
    ) -> Result<()> {
        match actor.client_user(|| Error::CannotGetOwnUserWithoutUser)? {
            Some(me) => {
                self.require_membership(&project.id, team_id, &me.id)
                    .await?;
                self.require_team_permission(project, team_id, &me.id, "$remove_members")
                    .await?;
            }
            None => {
                self.existing_team(&project.id, team_id).await?;
            }
        }
        // Only an invitation to that team: holding a permission in one team says nothing of
        // another's invitations.
        let belongs = self
            .live_codes(&project.id, CodeKind::TeamInvitation)
            .await?
            .iter()
            .any(|c| c.id == id && team_of(c) == team_id);
        if !belongs
            || !self
                .revoke_code(&project.id, CodeKind::TeamInvitation, id)
                .await?
        {
            return Err(Error::VerificationCodeNotFound);
        }
        Ok(())
    }

    /// `POST /team-invitations/accept/check-code`.
    pub async fn check_team_invitation(&self, project: &Project, code: &str) -> Result<()> {
        self.check_code(&project.id, CodeKind::TeamInvitation, code)
            .await
            .map(|_| ())
    }

    /// What an invitation is (team, inviter, recipient), for the invitation page before anyone
    /// signs in. Counts as a try of the code, as every check does.
    pub async fn preview_team_invitation(
        &self,
        project: &Project,
        code: &str,
    ) -> Result<InvitationDetails> {
        let found = self
            .check_code(&project.id, CodeKind::TeamInvitation, code)
            .await?;
        let team = self.existing_team(&project.id, team_of(&found)).await?;
        let inviter_name = match found.data["inviter_user_id"].as_str() {
            Some(id) => self
                .user(&project.id, id)
                .await?
                .and_then(|u| u.display_name.or(u.primary_email)),
            None => None,
        };
        Ok(InvitationDetails {
            already_member: false,
            team_id: team.id,
            team_display_name: team.display_name,
            inviter_name,
            recipient_email: recipient_of(&found),
        })
    }

    /// `POST /team-invitations/accept/details`: the invitation, for a signed-in user who may
    /// accept it, and whether they are in the team already.
    pub async fn team_invitation_details(
        &self,
        project: &Project,
        user: Option<&User>,
        code: &str,
    ) -> Result<InvitationDetails> {
        let mut details = self.preview_team_invitation(project, code).await?;
        let user = user.ok_or(Error::UserAuthenticationRequired)?;
        check_not_restricted(user)?;
        details.already_member = self.is_team_member(&details.team_id, &user.id).await?;
        Ok(details)
    }

    /// `POST /team-invitations/accept`: the signed-in user joins the team (if not a member
    /// already) and the code is used, together. Returns the team's id.
    pub async fn accept_team_invitation(
        &self,
        project: &Project,
        user: Option<&User>,
        code: &str,
    ) -> Result<String> {
        let found = self
            .check_code(&project.id, CodeKind::TeamInvitation, code)
            .await?;
        let user = user.ok_or(Error::UserAuthenticationRequired)?;
        self.join_by_invitation(project, user, &found).await
    }

    /// `POST /team-invitations/{id}/accept?user_id=`: an invitation listed for the user (sent to
    /// one of their verified addresses), accepted without its code.
    pub async fn accept_team_invitation_by_id(
        &self,
        project: &Project,
        actor: Actor<'_>,
        user_id: &str,
        id: &str,
    ) -> Result<()> {
        if let Some(me) = actor.client_user(|| Error::CannotGetOwnUserWithoutUser)? {
            if me.id != user_id {
                return Err(Error::CannotGetOwnUserWithoutUser);
            }
            check_not_restricted(me)?;
        }
        let user = self
            .user(&project.id, user_id)
            .await?
            .ok_or(Error::UserNotFound)?;
        let code = self
            .live_codes(&project.id, CodeKind::TeamInvitation)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(Error::VerificationCodeNotFound)?;
        let verified = self
            .contact_channels(&project.id, user_id)
            .await?
            .into_iter()
            .any(|c| c.is_verified && c.value == recipient_of(&code));
        if !verified {
            return Err(Error::VerificationCodeNotFound);
        }
        self.join_by_invitation(project, &user, &code).await?;
        Ok(())
    }

    async fn join_by_invitation(
        &self,
        project: &Project,
        user: &User,
        code: &Code,
    ) -> Result<String> {
        check_not_restricted(user)?;
        let team = self.existing_team(&project.id, team_of(code)).await?;
        let mut tx = self.begin().await?;
        consume_code(&mut tx, code).await?;
        let member: Option<(String,)> =
            sqlx::query_as("SELECT team_id FROM team_members WHERE team_id = $1 AND user_id = $2")
                .bind(&team.id)
                .bind(&user.id)
                .fetch_optional(&mut *tx)
                .await?;
        if member.is_none() {
            let who = crate::events::Who::User(user.id.clone());
            add_member(
                &mut tx,
                project,
                &team.id,
                &user.id,
                MemberKind::Member,
                &who,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(team.id)
    }
}
