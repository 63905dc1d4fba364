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
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let project = match info.await {
                    Ok(p) => p,
                    Err(e) => return view! { <AuthCard title="Sign out" project="">
                        <p class="form-error m-0 text-sm text-danger" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                };
                let sign_in = format!("/handler/{}/sign-in", project.id);
                match me.await {
                    Ok(Some(user)) => view! {
                        <AuthCard title="Sign out" project=project.display_name>
                            <p class="signed-in-as mb-4 text-sm text-muted">"Signed in as "<strong>{user.email}</strong></p>
                            <ActionForm action=sign_out attr:class="flex flex-col gap-4">
                                <input type="hidden" name="project_id" value=project.id/>
                                <button type="submit" class="primary whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60">"Sign out"</button>
                            </ActionForm>
                        </AuthCard>
                    }.into_any(),
                    _ => view! {
                        <AuthCard title="Sign out" project=project.display_name>
                            <p>"You are signed out."</p>
                            <p class="mt-5 text-sm text-muted"><a href=sign_in>"Sign in"</a></p>
                        </AuthCard>
                    }.into_any(),
                }
            })}
        </Suspense>
    }
}
