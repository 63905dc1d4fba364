//! A user's or a team's API keys on their dashboard page: what each is for, its last four
//! characters, its state; revoke.

use leptos::prelude::*;

use crate::components::{action_error, format_utc, FormError};
use crate::components::{PANEL, SMALL_BUTTON, TABLE};
use crate::server::{owner_api_keys, AdminRevokeApiKey, KeyRow};

/// The section's data and action; made at the top of the page, outside its `Suspense`.
#[derive(Clone, Copy)]
pub struct OwnerKeysState {
    kind: &'static str,
    revoke: ServerAction<AdminRevokeApiKey>,
    keys: Resource<Result<Vec<KeyRow>, ServerFnError>>,
}

impl OwnerKeysState {
    /// `ids` gives the project and the owner (a user's or a team's id, as `kind` says).
    pub fn new(kind: &'static str, ids: Memo<(String, String)>) -> OwnerKeysState {
        let revoke = ServerAction::<AdminRevokeApiKey>::new();
        let keys = Resource::new(
            move || (ids.get(), revoke.version().get()),
            move |((project, owner), _)| owner_api_keys(project, kind.to_string(), owner),
        );
        OwnerKeysState { kind, revoke, keys }
    }
}

#[component]
pub fn OwnerApiKeys(#[prop(into)] project_id: String, state: OwnerKeysState) -> impl IntoView {
    let OwnerKeysState { kind, revoke, keys } = state;
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let project_id = project_id.clone();
                Suspend::new(async move {
                    let keys = keys.await.unwrap_or_default();
                    let empty = keys.is_empty();
                    let rows = keys.into_iter().map(|k| {
                        let state = k.state();
                        let action = k.revocable().then(|| {
                            let (pid, id) = (project_id.clone(), k.id.clone());
                            view! {
                                <ActionForm action=revoke attr:class="inline">
                                    <input type="hidden" name="project_id" value=pid/>
                                    <input type="hidden" name="kind" value=kind/>
                                    <input type="hidden" name="key_id" value=id/>
                                    <button type="submit" class=SMALL_BUTTON>"Revoke"</button>
                                </ActionForm>
                            }
                        });
                        let described = k.description.clone();
                        view! {
                            <tr class="api-key" data-description=described>
                                <td>{k.description}{k.is_public.then_some(" (public)")}</td>
                                <td><code>{"…"}{k.last_four}</code></td>
                                <td>{format_utc(k.created_at)}</td>
                                <td>{state}</td>
                                <td>{action}</td>
                            </tr>
                        }
                    }).collect_view();
                    view! {
                        <section class=PANEL aria-labelledby="owner-keys-heading">
                            <h2 id="owner-keys-heading">"API keys"</h2>
                            {if empty {
                                view! { <p class="text-sm text-muted">"No API keys (or this kind of key is switched off: apiKeys.enabled in the configuration)."</p> }.into_any()
                            } else {
                                view! {
                                    <table class=TABLE>
                                        <thead><tr><th>"For"</th><th>"Key"</th><th>"Created"</th><th>"State"</th><th></th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                }.into_any()
                            }}
                            <FormError message=action_error(revoke)/>
                        </section>
                    }
                })
            }}
        </Suspense>
    }
}
