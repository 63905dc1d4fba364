//! A project's admins, in its settings: the members of the team that owns it, invitations by
//! email (the invitee may create their dashboard account from the invitation, even while
//! dashboard sign-up is closed), removal.

use leptos::prelude::*;

use crate::components::{action_error, format_utc, Field, FormError};
use crate::components::{PANEL, SMALL_BUTTON};
use crate::server::{load_project_admins, AdminsView, ProjectAdminAction};

/// What the section reads and does; made at the top of the settings page, outside its
/// `Suspense`.
#[derive(Clone, Copy)]
pub struct AdminsState {
    act: ServerAction<ProjectAdminAction>,
    admins: Resource<Result<AdminsView, ServerFnError>>,
}

impl AdminsState {
    pub fn new(project_id: Memo<String>) -> AdminsState {
        let act = ServerAction::<ProjectAdminAction>::new();
        let admins = Resource::new(
            move || (project_id.get(), act.version().get()),
            |(id, _)| load_project_admins(id),
        );
        AdminsState { act, admins }
    }
}

fn button(
    act: ServerAction<ProjectAdminAction>,
    project_id: String,
    action: &'static str,
    target: String,
    label: &'static str,
) -> impl IntoView {
    view! {
        <ActionForm action=act attr:class="inline">
            <input type="hidden" name="project_id" value=project_id/>
            <input type="hidden" name="action" value=action/>
            <input type="hidden" name="target" value=target/>
            <button type="submit" class=SMALL_BUTTON>{label}</button>
        </ActionForm>
    }
}

#[component]
pub fn ProjectAdmins(#[prop(into)] project_id: String, state: AdminsState) -> impl IntoView {
    let AdminsState { act, admins } = state;
    let error = action_error(act);
    view! {
        <section class=PANEL aria-labelledby="admins-heading">
            <h2 id="admins-heading">"Admins"</h2>
            <Suspense fallback=|| ()>
                {move || {
                    let project_id = project_id.clone();
                    Suspend::new(async move {
                        let v = match admins.await {
                            Ok(v) => v,
                            Err(e) => return view! { <p class="text-sm text-muted">{crate::server::error_message(&e)}</p> }.into_any(),
                        };
                        let rows = v.admins.into_iter().map(|a| {
                            let label = if a.is_me { "Leave" } else { "Remove" };
                            let email = a.email.clone().unwrap_or_default();
                            let shown = a.email.clone().unwrap_or_else(|| a.user_id.clone());
                            view! {
                                <li class="admin flex items-center justify-between gap-2 text-sm" data-email=email>
                                    <span>{shown}{a.is_me.then(|| view! { <span class="ml-1 text-xs text-muted">"(you)"</span> })}</span>
                                    {button(act, project_id.clone(), "remove", a.user_id, label)}
                                </li>
                            }
                        }).collect_view();
                        let pending = v.invitations.into_iter().map(|i| view! {
                            <li class="invitation flex items-center justify-between gap-2 text-sm">
                                <span>{i.email}" · invited, until "{format_utc(i.expires_at)}</span>
                                {button(act, project_id.clone(), "withdraw", i.id, "Withdraw")}
                            </li>
                        }).collect_view();
                        let pid = project_id.clone();
                        view! {
                            <p class="text-sm text-muted">{format!("Admins are the members of the team {}; they manage every project it owns.", v.team_name)}</p>
                            <ul class="my-3 flex flex-col gap-2">{rows}{pending}</ul>
                            <ActionForm action=act attr:class="flex flex-wrap items-end gap-2">
                                <input type="hidden" name="project_id" value=pid/>
                                <input type="hidden" name="action" value="invite"/>
                                <Field label="Invite an admin by email" name="target" kind="email" autocomplete="off" id="admin-invite"/>
                                <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink">"Send invitation"</button>
                            </ActionForm>
                        }.into_any()
                    })
                }}
            </Suspense>
            <FormError message=error/>
        </section>
    }
}
