//! Account settings: the accounts at OAuth providers linked to the user. "Connect" is a plain
//! link into the provider's flow (see the server's `hosted_oauth`); "Disconnect" a form post,
//! refused for the last way to sign in.

use leptos::prelude::*;

use super::query;
use crate::components::{action_error, FormError};
use crate::server::{my_oauth_accounts, DisconnectMyAccount, MyAccounts};

/// What the section reads and does; made at the top of the account page, outside its
/// `Suspense`.
#[derive(Clone, Copy)]
pub struct AccountOAuthState {
    disconnect: ServerAction<DisconnectMyAccount>,
    accounts: Resource<Result<MyAccounts, ServerFnError>>,
}

impl AccountOAuthState {
    pub fn new(project_id: Memo<String>) -> AccountOAuthState {
        let disconnect = ServerAction::<DisconnectMyAccount>::new();
        let accounts = Resource::new(
            move || (project_id.get(), disconnect.version().get()),
            |(id, _)| my_oauth_accounts(id),
        );
        AccountOAuthState {
            disconnect,
            accounts,
        }
    }
}

const SMALL_BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-2 py-0.5 text-xs font-semibold text-ink no-underline";

#[component]
pub fn AccountConnectedAccounts(
    #[prop(into)] project_id: String,
    state: AccountOAuthState,
) -> impl IntoView {
    let AccountOAuthState {
        disconnect,
        accounts,
    } = state;
    let error = query("error");
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let project_id = project_id.clone();
                Suspend::new(async move {
                    let mine = accounts.await.unwrap_or_default();
                    if mine.linked.is_empty() && mine.connectable.is_empty() {
                        return ().into_any();
                    }
                    let rows = mine.linked.iter().map(|a| {
                        let (pid, id) = (project_id.clone(), a.id.clone());
                        let who = a.email.clone().unwrap_or_else(|| a.account_id.clone());
                        view! {
                            <li class="connected-account flex items-center justify-between gap-2 text-sm" data-provider=a.provider_id.clone()>
                                <span><strong>{a.title.clone()}</strong><br/><small class="text-muted">{who}</small></span>
                                <ActionForm action=disconnect attr:class="inline">
                                    <input type="hidden" name="project_id" value=pid/>
                                    <input type="hidden" name="account_id" value=id/>
                                    <button type="submit" class=SMALL_BUTTON>"Disconnect"</button>
                                </ActionForm>
                            </li>
                        }
                    }).collect_view();
                    let connect = mine.connectable.iter().map(|(id, title)| {
                        let href = format!("/handler/{project_id}/oauth/{id}?type=link");
                        view! { <a class=SMALL_BUTTON href=href>{format!("Connect {title}")}</a> }
                    }).collect_view();
                    view! {
                        <section id="connected-accounts" class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="connected-heading">
                            <h2 id="connected-heading">"Connected accounts"</h2>
                            {move || (!error.get().is_empty()).then(|| view! {
                                <p class="form-error mb-3 text-sm text-danger" role="alert">{error.get()}</p>
                            })}
                            <ul class="my-2 flex flex-col gap-2">{rows}</ul>
                            <div class="flex flex-wrap gap-2">{connect}</div>
                            <FormError message=action_error(disconnect)/>
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
