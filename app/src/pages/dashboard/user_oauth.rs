//! A user's accounts at OAuth providers, on the dashboard's user page: what is linked, and
//! unlinking.

use leptos::prelude::*;

use crate::components::{action_error, FormError};
use crate::components::{PANEL, SMALL_BUTTON};
use crate::server::{user_oauth_accounts, LinkedAccount, UnlinkUserAccount};

/// Made at the top of the user page, outside its `Suspense`.
#[derive(Clone, Copy)]
pub struct LinkedAccountsState {
    unlink: ServerAction<UnlinkUserAccount>,
    accounts: Resource<Result<Vec<LinkedAccount>, ServerFnError>>,
}

impl LinkedAccountsState {
    pub fn new(ids: Memo<(String, String)>) -> LinkedAccountsState {
        let unlink = ServerAction::<UnlinkUserAccount>::new();
        let accounts = Resource::new(
            move || (ids.get(), unlink.version().get()),
            |((project_id, user_id), _)| user_oauth_accounts(project_id, user_id),
        );
        LinkedAccountsState { unlink, accounts }
    }
}

#[component]
pub fn UserLinkedAccounts(
    project_id: String,
    user_id: String,
    state: LinkedAccountsState,
) -> impl IntoView {
    let LinkedAccountsState { unlink, accounts } = state;
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let (project_id, user_id) = (project_id.clone(), user_id.clone());
                Suspend::new(async move {
                    let list = accounts.await.unwrap_or_default();
                    let empty = list.is_empty().then(|| view! { <p class="text-sm text-muted">"None: this user has not signed in with a provider."</p> });
                    let rows = list.into_iter().map(|a| {
                        let (pid, uid) = (project_id.clone(), user_id.clone());
                        let uses = [(a.allow_sign_in, "signs in"), (a.allow_connected_accounts, "connected account")]
                            .iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect::<Vec<_>>().join(", ");
                        view! {
                            <li class="linked-account flex flex-wrap items-center gap-2 border-b border-line py-2 text-sm" data-provider=a.provider_id.clone()>
                                <strong>{a.title.clone()}</strong>
                                <code>{a.account_id.clone()}</code>
                                <span class="text-muted">{a.email.clone().unwrap_or_default()}</span>
                                <span class="text-xs text-muted">{uses}</span>
                                <ActionForm action=unlink attr:class="ml-auto">
                                    <input type="hidden" name="project_id" value=pid/>
                                    <input type="hidden" name="user_id" value=uid/>
                                    <input type="hidden" name="account_id" value=a.id.clone()/>
                                    <button type="submit" class=SMALL_BUTTON>"Unlink"</button>
                                </ActionForm>
                            </li>
                        }
                    }).collect_view();
                    view! {
                        <section class=PANEL aria-labelledby="linked-heading">
                            <h2 id="linked-heading">"Linked accounts"</h2>
                            {empty}
                            <ul>{rows}</ul>
                            <FormError message=action_error(unlink)/>
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
