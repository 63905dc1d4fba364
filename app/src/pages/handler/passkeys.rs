//! Passkeys on the hosted pages: the sign-in button (with the browser's autofill) and the
//! account page's list. The WebAuthn part runs in `public/hosted.js`, which finds these blocks
//! by their `data-passkey-*` attributes and shows their buttons; without JavaScript the page
//! says plainly that passkeys need it.

use leptos::prelude::*;

use crate::components::{action_error, format_utc, FormError};
use crate::server::{my_passkeys, RemovePasskey, RenamePasskey};

const ERROR: &str = "form-error m-0 text-sm text-danger";
const SECONDARY: &str =
    "secondary whitespace-nowrap rounded-lg border border-line px-4 py-2.5 font-semibold text-ink";

/// "Sign in with a passkey", for the sign-in page.
#[component]
pub fn PasskeySignIn(project_id: String, return_to: String) -> impl IntoView {
    view! {
        <div class="passkey mb-5 flex flex-col gap-2" data-passkey-sign-in="" data-project=project_id data-return-to=return_to>
            <button type="button" class=SECONDARY hidden>"Sign in with a passkey"</button>
            <p class=ERROR role="alert" data-passkey-error="" hidden></p>
            <noscript><p class="m-0 text-sm text-muted">"Signing in with a passkey needs JavaScript, which is off in this browser. Use another way below."</p></noscript>
        </div>
    }
}

/// The passkeys section's actions and list, made with the account page (like its other
/// sections' states): a resource first made inside the page's Suspense can leave the server's
/// render waiting.
#[derive(Clone, Copy)]
pub struct AccountPasskeysState {
    rename: ServerAction<RenamePasskey>,
    remove: ServerAction<RemovePasskey>,
    list: Resource<Result<Vec<crate::server::PasskeyRow>, ServerFnError>>,
}

impl AccountPasskeysState {
    pub fn new(project_id: Memo<String>) -> AccountPasskeysState {
        let rename = ServerAction::<RenamePasskey>::new();
        let remove = ServerAction::<RemovePasskey>::new();
        let list = Resource::new(
            move || {
                (
                    project_id.get(),
                    rename.version().get(),
                    remove.version().get(),
                )
            },
            |(id, _, _)| my_passkeys(id),
        );
        AccountPasskeysState {
            rename,
            remove,
            list,
        }
    }
}

/// The account page's passkeys: each with its name (renamable), when it was added and last
/// used, and a remove button; and "Add a passkey".
#[component]
pub fn AccountPasskeys(
    project_id: String,
    done: Memo<Option<String>>,
    state: AccountPasskeysState,
) -> impl IntoView {
    let AccountPasskeysState {
        rename,
        remove,
        list,
    } = state;
    view! {
        <section id="passkeys" class="mt-5 border-t border-line pt-4 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="passkeys-heading">
            <h2 id="passkeys-heading">"Passkeys"</h2>
            {move || (done.get().as_deref() == Some("passkey")).then(|| view! {
                <p class="mb-3 text-sm" role="status">"Passkey added. Give it a name you will recognise."</p>
            })}
            <Suspense fallback=|| ()>
                {move || {
                    let id = project_id.clone();
                    Suspend::new(async move {
                        let keys = list.await.unwrap_or_default();
                        let empty = keys.is_empty();
                        let items = keys.into_iter().map(|k| {
                            let (id1, id2) = (id.clone(), id.clone());
                            let (k1, k2) = (k.id.clone(), k.id.clone());
                            let used = k.last_used_at.map(format_utc).unwrap_or_else(|| "never".into());
                            view! {
                                <li class="passkey-item flex flex-col gap-2 rounded-lg border border-line px-3 py-2 text-sm">
                                    <ActionForm action=rename attr:class="flex items-end gap-2">
                                        <input type="hidden" name="project_id" value=id1/>
                                        <input type="hidden" name="passkey_id" value=k1/>
                                        <label class=crate::components::FIELD>
                                            <span>"Name"</span>
                                            <input name="name" value=k.name.clone() required maxlength="100"/>
                                        </label>
                                        <button type="submit" class="secondary whitespace-nowrap rounded-lg border border-line px-3 py-2 text-sm font-semibold text-ink">"Rename"</button>
                                    </ActionForm>
                                    <small class="text-muted">"Added "{format_utc(k.created_at)}" · last used "{used}</small>
                                    <ActionForm action=remove>
                                        <input type="hidden" name="project_id" value=id2/>
                                        <input type="hidden" name="passkey_id" value=k2/>
                                        <button type="submit" class="whitespace-nowrap text-sm font-semibold text-danger">"Remove"</button>
                                    </ActionForm>
                                </li>
                            }
                        }).collect_view();
                        view! {
                            {empty.then(|| view! { <p class="mb-3 text-sm text-muted">"No passkeys yet. A passkey signs you in with your fingerprint, face or device PIN, with nothing to type."</p> })}
                            <ul class="mb-3 flex flex-col gap-2">{items}</ul>
                            <FormError message=action_error(rename)/>
                            <FormError message=action_error(remove)/>
                            <div class="flex flex-col gap-2" data-passkey-register="" data-project=id>
                                <button type="button" class=SECONDARY hidden>"Add a passkey"</button>
                                <p class=ERROR role="alert" data-passkey-error="" hidden></p>
                                <noscript><p class="m-0 text-sm text-muted">"Adding a passkey needs JavaScript, which is off in this browser."</p></noscript>
                            </div>
                        }
                    })
                }}
            </Suspense>
        </section>
    }
}
