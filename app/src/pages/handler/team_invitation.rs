//! Where an invitation email leads: who invites to which team; sign in or up first (the link
//! brings the person back here), then one button joins. Opening the link alone changes nothing.

use leptos::prelude::*;

use super::{project_id, query, url_encode, BUTTON};
use crate::components::{action_error, AuthCard, FormError};
use crate::server::{error_message, invitation_info, project_info, AcceptInvitation};

#[component]
pub fn TeamInvitationPage() -> impl IntoView {
    let project_id = project_id();
    let code = query("code");
    let action = ServerAction::<AcceptInvitation>::new();
    let error = action_error(action);
    let info = Resource::new(move || project_id.get(), project_info);
    let invitation = Resource::new(
        move || (project_id.get(), code.get()),
        |(p, c)| invitation_info(p, c),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let project = match info.await {
                    Ok(p) => p,
                    Err(e) => return view! { <AuthCard title="Team invitation" project="">
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                };
                let i = match invitation.await {
                    Ok(i) => i,
                    Err(e) => return view! { <AuthCard title="Team invitation" project=project.display_name.clone()>
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                        <p class="mt-5 text-sm text-muted">"Ask whoever invited you for a new invitation."</p>
                    </AuthCard> }.into_any(),
                };
                let here = format!("/handler/{}/team-invitation?code={}", project.id, code.get_untracked());
                let back = url_encode(&here);
                let who = match &i.inviter_name {
                    Some(name) => format!("{name} invited {} to join {}.", i.recipient_email, i.team_display_name),
                    None => format!("{} is invited to join {}.", i.recipient_email, i.team_display_name),
                };
                let team_name = i.team_display_name.clone();
                let pid = project.id.clone();
                let body = match (i.signed_in_as.clone(), i.already_member) {
                    (None, _) => view! {
                        <p class="m-0 mb-4 text-sm text-muted">"Sign in or create an account to accept."</p>
                        <div class="flex flex-col gap-2">
                            <a class=format!("{BUTTON} text-center") href=format!("/handler/{}/sign-up?after_auth_return_to={back}&invitation={}", project.id, code.get_untracked())>"Create an account"</a>
                            <a class="secondary whitespace-nowrap rounded-lg border border-line px-4 py-2.5 text-center font-semibold text-ink" href=format!("/handler/{}/sign-in?after_auth_return_to={back}", project.id)>"Sign in"</a>
                        </div>
                    }.into_any(),
                    (Some(_), true) => view! {
                        <p role="status">{format!("You are already a member of {}.", i.team_display_name)}</p>
                        <p class="mt-5 text-sm text-muted"><a href=format!("/handler/{}/account-settings#teams", project.id)>"Go to your teams"</a></p>
                    }.into_any(),
                    (Some(me), false) => { let sign_out = format!("/handler/{pid}/sign-out"); view! {
                        <ActionForm action=action attr:class="flex flex-col gap-4">
                            <input type="hidden" name="project_id" value=pid.clone()/>
                            <input type="hidden" name="code" value=code.get_untracked()/>
                            <p class="m-0 text-sm text-muted">{format!("You are signed in as {me}.")}</p>
                            <FormError message=error/>
                            <button type="submit" class=BUTTON disabled=move || action.pending().get()>{format!("Join {team_name}")}</button>
                        </ActionForm>
                        <p class="mt-5 text-sm text-muted"><a href=sign_out>"Not you? Sign out"</a></p>
                    }.into_any() }
                };
                view! {
                    <AuthCard title="Team invitation" project=project.display_name.clone()>
                        <p class="invitation-summary mb-4">{who}</p>
                        {body}
                    </AuthCard>
                }.into_any()
            })}
        </Suspense>
    }
}
