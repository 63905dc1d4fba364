//! Account settings: API keys, the user's own and those of teams where they manage keys. A new
//! key is shown once, right after it is made; revoking is for good. Form posts only.

use leptos::prelude::*;

use crate::components::{action_error, Field, FormError, SMALL_BUTTON};
use crate::server::{my_api_keys, take_new_api_key, CreateMyApiKey, KeyGroup, RevokeMyApiKey};

/// What the section reads and does; made at the top of the account page, outside its
/// `Suspense`.
#[derive(Clone, Copy)]
pub struct AccountKeysState {
    create: ServerAction<CreateMyApiKey>,
    revoke: ServerAction<RevokeMyApiKey>,
    groups: Resource<Result<Vec<KeyGroup>, ServerFnError>>,
    new_key: Resource<Option<String>>,
}

impl AccountKeysState {
    pub fn new(project_id: Memo<String>) -> AccountKeysState {
        let create = ServerAction::<CreateMyApiKey>::new();
        let revoke = ServerAction::<RevokeMyApiKey>::new();
        let groups = Resource::new(
            move || {
                (
                    project_id.get(),
                    create.version().get(),
                    revoke.version().get(),
                )
            },
            |(id, ..)| my_api_keys(id),
        );
        let query = leptos_router::hooks::use_query_map();
        let new_key = Resource::new(
            move || (project_id.get(), query.read().get("new_key")),
            |(id, flash)| async move {
                match flash {
                    Some(flash) => take_new_api_key(id, flash).await.ok().flatten(),
                    None => None,
                }
            },
        );
        AccountKeysState {
            create,
            revoke,
            groups,
            new_key,
        }
    }
}

#[component]
pub fn AccountApiKeys(#[prop(into)] project_id: String, state: AccountKeysState) -> impl IntoView {
    let AccountKeysState {
        create,
        revoke,
        groups,
        new_key,
    } = state;
    view! {
        <Suspense fallback=|| ()>
            {move || {
                let project_id = project_id.clone();
                Suspend::new(async move {
                    let groups = groups.await.unwrap_or_default();
                    if groups.is_empty() {
                        return ().into_any();
                    }
                    let shown = new_key.await.map(|secret| view! {
                        <div class="new-api-key mb-3 rounded-lg border border-accent p-3 text-sm" role="status">
                            <p class="m-0 mb-2 font-semibold">"Your new key. Copy it now: it is shown only this once."</p>
                            <input type="text" readonly value=secret aria-label="The new API key"
                                class="w-full rounded-lg border border-line bg-page px-2 py-1 font-mono text-xs"/>
                        </div>
                    });
                    let sections = groups.into_iter().map(|g| {
                        let kind = if g.owner == "me" { "user" } else { "team" };
                        let rows = g.keys.iter().map(|k| {
                            let state = k.state();
                            let revoke_form = k.revocable().then(|| {
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
                            view! {
                                <li class="api-key flex items-center justify-between gap-2 text-sm" data-description=k.description.clone()>
                                    <span><strong>{k.description.clone()}</strong>" …"{k.last_four.clone()}<br/>
                                        <small class="text-muted">{state}</small></span>
                                    {revoke_form}
                                </li>
                            }
                        }).collect_view();
                        let (pid, owner, field) = (project_id.clone(), g.owner.clone(), format!("key-description-{}", g.owner));
                        let days = format!("key-days-{}", g.owner);
                        view! {
                            <h3 class="mt-3 text-sm font-semibold">{g.label.clone()}</h3>
                            <ul class="my-2 flex flex-col gap-2">{rows}</ul>
                            <ActionForm action=create attr:class="flex flex-wrap items-end gap-2">
                                <input type="hidden" name="project_id" value=pid/>
                                <input type="hidden" name="owner" value=owner/>
                                <Field label="What it is for" name="description" autocomplete="off" id=field/>
                                <Field label="Expires in days (empty: never)" name="expires_in_days" kind="number" required=false id=days/>
                                <button type="submit" class=SMALL_BUTTON>"Create key"</button>
                            </ActionForm>
                        }
                    }).collect_view();
                    view! {
                        <section id="api-keys" class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="api-keys-heading">
                            <h2 id="api-keys-heading">"API keys"</h2>
                            {shown}
                            {sections}
                            <FormError message=action_error(create)/>
                            <FormError message=action_error(revoke)/>
                        </section>
                    }.into_any()
                })
            }}
        </Suspense>
    }
}
