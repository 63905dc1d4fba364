use leptos::prelude::*;

use super::project_id;
use crate::components::AuthCard;
use crate::server::{current_user, error_message, project_info, SignOut};

/// A page to sign out from (a link can lead here; signing out itself is a POST, so no other
/// site can sign people out by linking to it).
#[component]
pub fn SignOutPage() -> impl IntoView {
    let project_id = project_id();
    let info = Resource::new(move || project_id.get(), project_info);
    let me = Resource::new(move || project_id.get(), current_user);
    let sign_out = ServerAction::<SignOut>::new();
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let project = match info.await {
                    Ok(p) => p,
                    Err(e) => return view! { <AuthCard title="Sign out" project="">
                        <p class="form-error" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                };
                let sign_in = format!("/handler/{}/sign-in", project.id);
                match me.await {
                    Ok(Some(user)) => view! {
                        <AuthCard title="Sign out" project=project.display_name>
                            <p class="signed-in-as">"Signed in as "<strong>{user.email}</strong></p>
                            <ActionForm action=sign_out attr:class="auth-form">
                                <input type="hidden" name="project_id" value=project.id/>
                                <button type="submit" class="primary">"Sign out"</button>
                            </ActionForm>
                        </AuthCard>
                    }.into_any(),
                    _ => view! {
                        <AuthCard title="Sign out" project=project.display_name>
                            <p>"You are signed out."</p>
                            <p class="switch"><a href=sign_in>"Sign in"</a></p>
                        </AuthCard>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
