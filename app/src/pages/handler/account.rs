use leptos::prelude::*;

use super::project_id;
use crate::components::{AuthCard, Field, FormError};
use crate::server::{current_user, error_message, project_info, SignOut, UpdateDisplayName};

#[component]
pub fn AccountPage() -> impl IntoView {
    let project_id = project_id();
    let update = ServerAction::<UpdateDisplayName>::new();
    let sign_out = ServerAction::<SignOut>::new();
    let info = Resource::new(move || project_id.get(), project_info);
    // Re-read the user after every successful change.
    let me = Resource::new(
        move || (project_id.get(), update.version().get()),
        |(id, _)| current_user(id),
    );
    let error = Signal::derive(move || {
        update
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| error_message(&e))
    });
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let project = match info.await {
                    Ok(p) => p,
                    Err(e) => return view! { <AuthCard title="Account settings" project="">
                        <p class="form-error" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                };
                match me.await {
                    Ok(Some(user)) => {
                        let (id_for_update, id_for_sign_out) = (project.id.clone(), project.id.clone());
                        view! {
                        <AuthCard title="Account settings" project=project.display_name.clone()>
                            <p class="signed-in-as">"Signed in as "<strong>{user.email.clone()}</strong></p>
                            <ActionForm action=update attr:class="auth-form">
                                <input type="hidden" name="project_id" value=id_for_update/>
                                <Field label="Display name" name="display_name" autocomplete="name" required=false
                                    value=user.display_name.clone().unwrap_or_default()/>
                                <FormError message=error/>
                                <button type="submit" class="primary" disabled=move || update.pending().get()>
                                    {move || if update.pending().get() { "Saving…" } else { "Save" }}
                                </button>
                            </ActionForm>
                            <ActionForm action=sign_out attr:class="sign-out">
                                <input type="hidden" name="project_id" value=id_for_sign_out/>
                                <button type="submit" class="secondary">"Sign out"</button>
                            </ActionForm>
                        </AuthCard>
                    }.into_any()
                    }
                    Ok(None) => view! {
                        <AuthCard title="Account settings" project=project.display_name.clone()>
                            <p>"You are not signed in."</p>
                            <p class="switch"><a href=format!("/handler/{}/sign-in", project.id)>"Sign in"</a></p>
                        </AuthCard>
                    }.into_any(),
                    Err(e) => view! { <AuthCard title="Account settings" project=project.display_name.clone()>
                        <p class="form-error" role="alert">{error_message(&e)}</p>
                    </AuthCard> }.into_any(),
                }
            })}
        </Suspense>
    }
}
