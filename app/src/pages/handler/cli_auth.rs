//! `/handler/{project}/cli-auth-confirm?login_code=…`: a signed-in person lets a terminal in.

use leptos::prelude::*;

use super::{project_id, query, url_encode, with_project, BUTTON};
use crate::components::{action_error, FormError};
use crate::server::{current_user, ConfirmCli};

#[component]
pub fn CliAuthConfirmPage() -> impl IntoView {
    let project_id = project_id();
    let login_code = query("login_code");
    let done = query("done");
    let action = ServerAction::<ConfirmCli>::new();
    let me = Resource::new(move || project_id.get(), current_user);
    with_project("Sign in a terminal", move |p| {
        let id = p.id.clone();
        view! {
            <Suspense fallback=|| ()>
                {move || {
                    let id = id.clone();
                    Suspend::new(async move {
                        if !done.get().is_empty() {
                            return view! {
                                <p class="text-sm" role="status">"Your terminal is signed in. You can close this page and go back to it."</p>
                            }.into_any();
                        }
                        let here = format!("/handler/{id}/cli-auth-confirm?login_code={}", url_encode(&login_code.get()));
                        match me.await {
                            Ok(Some(user)) => view! {
                                <p class="mb-4 text-sm">"A command-line tool is asking to sign in as "<strong>{user.email.or(user.display_name)}</strong>". It will get a session of its own, which you can end from your account settings."</p>
                                <p class="mb-4 text-sm text-muted">"Only continue if you started this yourself, just now."</p>
                                <ActionForm action=action attr:class="flex flex-col gap-4">
                                    <input type="hidden" name="project_id" value=id/>
                                    <input type="hidden" name="login_code" value=login_code.get()/>
                                    <FormError message=action_error(action)/>
                                    <button type="submit" class=BUTTON>"Sign in the terminal"</button>
                                </ActionForm>
                            }.into_any(),
                            _ => view! {
                                <p class="mb-4 text-sm">"A command-line tool is asking to sign in. Sign in first, then confirm here."</p>
                                <a class="inline-block rounded-lg border border-line px-4 py-2.5 font-semibold no-underline"
                                    href=format!("/handler/{id}/sign-in?after_auth_return_to={}", url_encode(&here))>"Sign in"</a>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        }
    })
}
