//! Account settings: the user's teams. Everyone may create (where the project allows), select,
//! leave and name themselves per team; members holding the team's permissions see its members
//! and invitations, invite by email, remove members and change their permissions. Every button
//! is a form post.

use leptos::prelude::*;

use crate::components::{action_error, format_utc, Field, FormError, SMALL_BUTTON};
use crate::server::{
    my_teams, CreateTeam, InviteMember, MemberAction, TeamAction, TeamCard, TeamsPanel,
};

/// What the section reads and does; made at the top of the account page, outside its
/// `Suspense`.
#[derive(Clone, Copy)]
pub struct AccountTeamsState {
    create: ServerAction<CreateTeam>,
    act: ServerAction<TeamAction>,
    invite: ServerAction<InviteMember>,
    member: ServerAction<MemberAction>,
    panel: Resource<Result<TeamsPanel, ServerFnError>>,
}

impl AccountTeamsState {
    pub fn new(project_id: Memo<String>) -> AccountTeamsState {
        let create = ServerAction::<CreateTeam>::new();
        let act = ServerAction::<TeamAction>::new();
        let invite = ServerAction::<InviteMember>::new();
        let member = ServerAction::<MemberAction>::new();
        let panel = Resource::new(
            move || {
                (
                    project_id.get(),
                    create.version().get(),
                    act.version().get(),
                    invite.version().get(),
                    member.version().get(),
                )
            },
            |(id, ..)| my_teams(id),
        );
        AccountTeamsState {
            create,
            act,
            invite,
            member,
            panel,
        }
    }
}

const BUTTON: &str =
    "secondary whitespace-nowrap rounded-lg border border-line px-4 py-2 font-semibold text-ink";

/// A one-button form posting a team action.
fn team_button(
    act: ServerAction<TeamAction>,
    project_id: String,
    team_id: String,
    action: &'static str,
    label: &'static str,
) -> impl IntoView {
    view! {
        <ActionForm action=act attr:class="inline">
            <input type="hidden" name="project_id" value=project_id/>
            <input type="hidden" name="team_id" value=team_id/>
            <input type="hidden" name="action" value=action/>
            <button type="submit" class=SMALL_BUTTON>{label}</button>
        </ActionForm>
    }
}

/// A one-button form posting a member action.
fn member_button(
    member: ServerAction<MemberAction>,
    project_id: String,
    team_id: String,
    target: String,
    action: &'static str,
    permission: Option<String>,
    label: String,
) -> impl IntoView {
    view! {
        <ActionForm action=member attr:class="inline">
            <input type="hidden" name="project_id" value=project_id/>
            <input type="hidden" name="team_id" value=team_id/>
            <input type="hidden" name="target" value=target/>
            <input type="hidden" name="action" value=action/>
            {permission.map(|p| view! { <input type="hidden" name="permission" value=p/> })}
            <button type="submit" class=SMALL_BUTTON>{label}</button>
        </ActionForm>
    }
}

fn team_view(state: AccountTeamsState, project_id: String, t: TeamCard) -> impl IntoView {
    let AccountTeamsState {
        act,
        invite,
        member,
        ..
    } = state;
    let (pid, tid) = (project_id.clone(), t.id.clone());
    let members = (!t.members.is_empty()).then(|| {
        let rows = t
            .members
            .iter()
            .map(|m| {
                let manage = t.can_manage_permissions && !m.is_me;
                let perms = m
                    .permissions
                    .iter()
                    .map(|p| {
                        let take = (manage && t.grantable.contains(p)).then(|| {
                            member_button(member, pid.clone(), tid.clone(), m.user_id.clone(), "revoke", Some(p.clone()), format!("Take {p}"))
                        });
                        view! { <span class="permission rounded-full border border-line px-2 py-0.5 text-xs">{p.clone()}</span>{take} }
                    })
                    .collect_view();
                let give: Vec<String> = t.grantable.iter().filter(|p| !m.permissions.contains(p)).cloned().collect();
                let changes = (manage && !give.is_empty()).then(|| {
                    let options = give.into_iter().map(|p| view! { <option value=p.clone()>{p.clone()}</option> }).collect_view();
                    let (pid, tid, uid) = (pid.clone(), tid.clone(), m.user_id.clone());
                    view! {
                        <ActionForm action=member attr:class="inline-flex items-center gap-1">
                            <input type="hidden" name="project_id" value=pid/>
                            <input type="hidden" name="team_id" value=tid/>
                            <input type="hidden" name="target" value=uid/>
                            <input type="hidden" name="action" value="grant"/>
                            <select name="permission" aria-label="Permission to give" class="rounded-lg border border-line bg-page px-1 py-0.5 text-xs">{options}</select>
                            <button type="submit" class=SMALL_BUTTON>"Give"</button>
                        </ActionForm>
                    }
                });
                let remove = (t.can_remove && !m.is_me).then(|| {
                    member_button(member, pid.clone(), tid.clone(), m.user_id.clone(), "remove", None, "Remove".into())
                });
                let name = if m.name.is_empty() {
                    m.email.clone().unwrap_or_default()
                } else {
                    m.name.clone()
                };
                view! {
                    <li class="member flex flex-col gap-1 text-sm" data-email=m.email.clone().unwrap_or_default()>
                        <span class="flex flex-wrap items-center gap-1">
                            <strong>{name}</strong>
                            {m.is_me.then(|| view! { <span class="text-xs text-muted">"(you)"</span> })}
                            {perms}
                        </span>
                        <span class="flex flex-wrap gap-1">{remove}{changes}</span>
                    </li>
                }
            })
            .collect_view();
        view! {
            <h3 class="mt-3 text-sm font-semibold">"Members"</h3>
            <ul class="flex flex-col gap-2">{rows}</ul>
        }
    });
    let pending = (!t.invitations.is_empty()).then(|| {
        let rows = t
            .invitations
            .iter()
            .map(|i| {
                let withdraw = t.can_remove.then(|| {
                    member_button(member, pid.clone(), tid.clone(), i.id.clone(), "withdraw", None, "Withdraw".into())
                });
                view! {
                    <li class="invitation flex items-center justify-between gap-2 text-sm">
                        <span>{i.email.clone()}<br/><small class="text-muted">"Until "{format_utc(i.expires_at)}</small></span>
                        {withdraw}
                    </li>
                }
            })
            .collect_view();
        view! {
            <h3 class="mt-3 text-sm font-semibold">"Invitations"</h3>
            <ul class="flex flex-col gap-2">{rows}</ul>
        }
    });
    let invite_form = t.can_invite.then(|| {
        let (pid, tid, tid_field) = (pid.clone(), tid.clone(), tid.clone());
        view! {
            <ActionForm action=invite attr:class="mt-3 flex flex-col gap-2">
                <input type="hidden" name="project_id" value=pid/>
                <input type="hidden" name="team_id" value=tid/>
                <Field label="Invite by email" name="email" kind="email" autocomplete="off" id=format!("invite-{}", tid_field)/>
                <button type="submit" class=BUTTON>"Send invitation"</button>
            </ActionForm>
        }
    });
    let rename = {
        let (pid, tid, name_id) = (pid.clone(), tid.clone(), format!("member-name-{}", t.id));
        view! {
            <ActionForm action=act attr:class="mt-2 flex items-end gap-2">
                <input type="hidden" name="project_id" value=pid/>
                <input type="hidden" name="team_id" value=tid/>
                <input type="hidden" name="action" value="rename-me"/>
                <Field label="Your name in this team" name="value" required=false value=t.my_name.clone() id=name_id/>
                <button type="submit" class=SMALL_BUTTON>"Save"</button>
            </ActionForm>
        }
    };
    view! {
        <li class="team rounded-lg border border-line p-3" data-team=t.display_name.clone()>
            <div class="flex flex-wrap items-center justify-between gap-2">
                <strong>{t.display_name.clone()}</strong>
                <span class="flex flex-wrap gap-1">
                    {if t.selected {
                        view! { <span class="rounded-full border border-line px-2 py-0.5 text-xs">"Selected"</span> }.into_any()
                    } else {
                        team_button(act, project_id.clone(), t.id.clone(), "select", "Select").into_any()
                    }}
                    {team_button(act, project_id.clone(), t.id.clone(), "leave", "Leave")}
                    {t.can_delete.then(|| team_button(act, project_id.clone(), t.id.clone(), "delete", "Delete team"))}
                </span>
            </div>
            {rename}
            {members}
            {pending}
            {invite_form}
        </li>
    }
}

#[component]
pub fn AccountTeams(
    #[prop(into)] project_id: String,
    done: Memo<Option<String>>,
    state: AccountTeamsState,
) -> impl IntoView {
    let AccountTeamsState {
        create,
        act,
        invite,
        member,
        panel,
    } = state;
    let invited = move || done.get().as_deref() == Some("invited");
    view! {
        <section id="teams" class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="teams-heading">
            <h2 id="teams-heading">"Teams"</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let project_id = project_id.clone();
                    Suspend::new(async move {
                        let panel = panel.await.unwrap_or_default();
                        let joinable = panel.invitations.iter().map(|i| view! {
                            <li class="flex items-center justify-between gap-2 text-sm">
                                <span>"You are invited to "<strong>{i.team_display_name.clone()}</strong></span>
                                {team_button(act, project_id.clone(), i.id.clone(), "join", "Join")}
                            </li>
                        }).collect_view();
                        let alone = panel.teams.is_empty() && panel.invitations.is_empty();
                        let teams = panel.teams.into_iter().map(|t| team_view(state, project_id.clone(), t)).collect_view();
                        let create_form = panel.can_create.then(|| view! {
                            <ActionForm action=create attr:class="mt-3 flex flex-col gap-2">
                                <input type="hidden" name="project_id" value=project_id.clone()/>
                                <Field label="New team name" name="display_name" autocomplete="off" id="new-team-name"/>
                                <FormError message=action_error(create)/>
                                <button type="submit" class=BUTTON>"Create team"</button>
                            </ActionForm>
                        });
                        view! {
                            {alone.then(|| view! { <p class="m-0 text-sm text-muted">"You are not in any team."</p> })}
                            <ul class="mb-3 flex flex-col gap-2">{joinable}</ul>
                            <ul class="flex flex-col gap-3">{teams}</ul>
                            {create_form}
                        }
                    })
                }}
            </Suspense>
            {move || invited().then(|| view! { <p class="m-0 mt-2 text-sm text-muted" role="status">"Invitation sent."</p> })}
            <FormError message=action_error(act)/>
            <FormError message=action_error(invite)/>
            <FormError message=action_error(member)/>
        </section>
    }
}
