//! The auth methods room: the project's OAuth providers (own keys or the server's shared ones,
//! the callback URL to register at the provider, secrets never shown back), the editor
//! (`?edit=<id>`), and what an OAuth sign-in with a known email does (the merge strategy).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{action_error, FormError, FIELD};
use crate::components::{PANEL, SMALL_BUTTON};
use crate::server::{
    load_auth_methods, ProviderRow, RemoveProvider, SaveProvider, SetMergeStrategy,
};

const BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink";
const STRATEGIES: [(&str, &str); 3] = [
    (
        "link_method",
        "Link to the existing account, if its email is verified",
    ),
    ("raise_error", "Refuse: the address is taken"),
    (
        "allow_duplicates",
        "Make a second account (its email does not sign in)",
    ),
];

fn keys(p: &ProviderRow) -> String {
    match (p.is_shared, p.development_only, p.missing_shared_keys) {
        (true, true, _) => {
            "Shared: development provider only (STACK_OAUTH_MOCK_URL), never for real users".into()
        }
        (true, _, true) => {
            "Shared keys, but this server has none: sign-in fails until they are set".into()
        }
        (true, ..) => "This server's shared keys".into(),
        (false, ..) => format!("Own app: client id {}", p.client_id),
    }
}

#[component]
fn ProviderEditor(
    project_id: String,
    types: Vec<(String, String)>,
    pattern: String,
    editing: Option<ProviderRow>,
    save: ServerAction<SaveProvider>,
) -> impl IntoView {
    let e = editing.clone();
    let chosen = e
        .as_ref()
        .map(|p| p.provider_type.clone())
        .unwrap_or_else(|| "github".into());
    let options = types
        .into_iter()
        .map(|(t, title)| {
            let selected = t == chosen;
            view! { <option value=t selected=selected>{title}</option> }
        })
        .collect_view();
    let heading = match &e {
        Some(p) => format!("Edit {}", p.id),
        None => "Add a provider".into(),
    };
    let secret_hint = if e.as_ref().is_some_and(|p| p.has_secret) {
        "Client secret (stored; leave empty to keep it)"
    } else {
        "Client secret"
    };
    let id_value = e.as_ref().map(|p| p.id.clone()).unwrap_or_default();
    let shared = e.as_ref().is_none_or(|p| p.is_shared);
    let sign_in = e.as_ref().is_none_or(|p| p.allow_sign_in);
    let connected = e.as_ref().is_none_or(|p| p.allow_connected_accounts);
    let client_id = e.as_ref().map(|p| p.client_id.clone()).unwrap_or_default();
    let issuer = e.as_ref().map(|p| p.issuer_url.clone()).unwrap_or_default();
    let tenant = e
        .as_ref()
        .map(|p| p.microsoft_tenant_id.clone())
        .unwrap_or_default();
    view! {
        <section id="editor" class=PANEL aria-labelledby="editor-heading">
            <h2 id="editor-heading">{heading}</h2>
            <ActionForm action=save attr:class="flex flex-col gap-3">
                <input type="hidden" name="project_id" value=project_id/>
                <label class=FIELD>"Provider"<select name="provider_type" class="rounded-lg border border-line bg-page px-3 py-2.5">{options}</select></label>
                <label class=FIELD>"Id (in URLs and the SDK; empty: the provider's name)"<input name="id" value=id_value autocomplete="off"/></label>
                <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="shared" value="on" checked=shared/>"Use this server's shared keys (STACK_<PROVIDER>_CLIENT_ID)"</label>
                <label class=FIELD>"Client id"<input name="client_id" value=client_id autocomplete="off"/></label>
                <label class=FIELD>{secret_hint}<input type="password" name="client_secret" autocomplete="new-password"/></label>
                <label class=FIELD>"Issuer URL (OpenID Connect only)"<input type="url" name="issuer_url" value=issuer/></label>
                <label class=FIELD>"Microsoft tenant (empty: common)"<input name="microsoft_tenant_id" value=tenant/></label>
                <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="allow_sign_in" value="on" checked=sign_in/>"People sign in with it"</label>
                <label class="flex items-center gap-2 text-sm"><input type="checkbox" name="allow_connected_accounts" value="on" checked=connected/>"Apps may use the linked account (connected accounts)"</label>
                <p class="m-0 text-sm text-muted">"Register this callback URL at the provider: "<code>{pattern}</code></p>
                <FormError message=action_error(save)/>
                <button type="submit" class=BUTTON>"Save provider"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn AuthMethodsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let save = ServerAction::<SaveProvider>::new();
    let remove = ServerAction::<RemoveProvider>::new();
    let strategy = ServerAction::<SetMergeStrategy>::new();
    let data = Resource::new(
        move || {
            (
                project_id.get(),
                save.version().get(),
                remove.version().get(),
                strategy.version().get(),
            )
        },
        |(id, ..)| load_auth_methods(id),
    );
    let remove_error = action_error(remove);
    let strategy_error = action_error(strategy);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let v = match data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let editing = query.read().get("edit").and_then(|e| v.providers.iter().find(|p| p.id == e).cloned());
                let rows = v.providers.clone().into_iter().map(|p| {
                    let (pid, pid2) = (id.clone(), id.clone());
                    let edit = format!("/projects/{pid}/auth-methods?edit={}#editor", p.id);
                    let keys_text = keys(&p);
                    let (pvid, pvid2, pvid3, title, callback) = (p.id.clone(), p.id.clone(), p.id.clone(), p.title.clone(), p.callback_url.clone());
                    let warn = if p.development_only || p.missing_shared_keys { "text-sm text-danger" } else { "text-sm text-muted" };
                    let flags = [(p.allow_sign_in, "sign-in"), (p.allow_connected_accounts, "connected accounts")]
                        .iter().filter(|(on, _)| *on).map(|(_, n)| *n).collect::<Vec<_>>().join(", ");
                    view! {
                        <li class="oauth-provider flex flex-col gap-1 border-b border-line py-3" data-id=pvid>
                            <div class="flex flex-wrap items-center gap-2">
                                <strong>{title}</strong><code class="text-sm">{pvid2}</code>
                                <span class="text-xs text-muted">{flags}</span>
                                <span class="ml-auto flex items-center gap-1">
                                    <a class=SMALL_BUTTON href=edit>"Edit"</a>
                                    <ActionForm action=remove>
                                        <input type="hidden" name="project_id" value=pid2/>
                                        <input type="hidden" name="id" value=pvid3/>
                                        <button type="submit" class=SMALL_BUTTON>"Remove"</button>
                                    </ActionForm>
                                </span>
                            </div>
                            <span class=warn>{keys_text}</span>
                            <span class="text-sm">"Callback URL: "<code class="callback-url break-all">{callback}</code></span>
                        </li>
                    }
                }).collect_view().into_any();
                let empty = v.providers.is_empty().then(|| view! {
                    <p class="text-sm text-muted">"No providers yet: people sign in with a password or an emailed code."</p>
                });
                let strategies = STRATEGIES.iter().map(|(value, label)| {
                    let selected = *value == v.merge_strategy;
                    view! { <option value=*value selected=selected>{*label}</option> }
                }).collect_view();
                let (id2, id3) = (id.clone(), id.clone());
                view! {
                    <ProjectShell project_id=id.clone() project_name=v.project_name.clone() active="auth-methods">
                        <section class=PANEL aria-labelledby="providers-heading">
                            <h1 id="providers-heading">"Auth methods"</h1>
                            <h2>"Sign-in providers"</h2>
                            {empty}
                            <ul>{rows}</ul>
                            <FormError message=remove_error/>
                        </section>
                        <ProviderEditor project_id=id2 types=v.types.clone() pattern=v.callback_pattern.clone() editing=editing save=save/>
                        <section class=PANEL aria-labelledby="merge-heading">
                            <h2 id="merge-heading">"When someone signs in with a provider using an email that already has an account"</h2>
                            <ActionForm action=strategy attr:class="flex flex-wrap items-end gap-2">
                                <input type="hidden" name="project_id" value=id3/>
                                <select name="strategy" aria-label="Merge strategy" class="rounded-lg border border-line bg-page px-3 py-2">{strategies}</select>
                                <button type="submit" class=BUTTON>"Save"</button>
                            </ActionForm>
                            <FormError message=strategy_error/>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
