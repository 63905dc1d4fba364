use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{DashboardError, ProjectShell};
use crate::components::action_error;
use crate::server::{load_project_config, SaveConfigOverride};

/// The advanced settings room: the whole config tree as JSON, what each level overrides, and an
/// override to lay on top, refused with the key that is wrong named beside the editor.
#[component]
pub fn ConfigPage() -> impl IntoView {
    let params = use_params_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let save = ServerAction::<SaveConfigOverride>::new();
    let config = Resource::new(
        move || (project_id.get(), save.version().get()),
        |(id, _)| load_project_config(id),
    );
    let error = action_error(save);
    let saved = move || save.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let c = match config.await {
                    Ok(c) => c,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let levels = c.overrides.into_iter().map(|(level, text)| view! {
                    <details class="rounded-lg border border-line px-3 py-2">
                        <summary class="cursor-pointer text-sm font-semibold">{format!("Stored at the {level} level")}</summary>
                        <pre class="mt-2 overflow-x-auto text-xs" data-level=level>{text}</pre>
                    </details>
                }).collect_view();
                let id = c.id.clone();
                view! {
                    <ProjectShell project_id=c.id project_name=c.display_name active="config">
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-2 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="config-heading">
                            <h1 id="config-heading">"Configuration"</h1>
                            <p class="mb-4 text-sm text-muted">
                                "Every setting of this project is a key of one tree. Overrides are laid over Stack's defaults in order — project, branch, environment — and a key set later wins. Write dotted keys or nested objects; null puts a key back to its default."
                            </p>
                            <ActionForm action=save attr:class="flex flex-col gap-3">
                                <input type="hidden" name="project_id" value=id/>
                                <label class="flex flex-col gap-1 text-sm" for="config-level">
                                    <span class="font-semibold">"Level"</span>
                                    <select id="config-level" name="level" class="max-w-xs rounded-lg border border-line bg-page px-2.5 py-1.5">
                                        <option value="environment" selected>"Environment (secrets, domains, email server)"</option>
                                        <option value="branch">"Branch"</option>
                                        <option value="project">"Project"</option>
                                    </select>
                                </label>
                                <label class="flex flex-col gap-1 text-sm" for="config-override">
                                    <span class="font-semibold">"Override"</span>
                                    <textarea id="config-override" name="config_override" rows="6" spellcheck="false"
                                        class="rounded-lg border border-line bg-page px-2.5 py-1.5 font-mono text-xs"
                                        aria-describedby="config-error">"{\n  \"auth.allowSignUp\": true\n}"</textarea>
                                </label>
                                <div id="config-error">
                                    {move || error.get().map(|m| {
                                        let key = offending_key(&m);
                                        view! {
                                            <p class="form-error m-0 text-sm text-danger" role="alert">
                                                {key.map(|k| { let shown = k.clone(); view! { <code class="mr-1 rounded bg-page px-1 font-semibold" data-key=k>{shown}</code> } })}
                                                {m}
                                            </p>
                                        }
                                    })}
                                </div>
                                {move || saved().then(|| view! { <p class="m-0 text-sm text-muted" role="status">"Saved."</p> })}
                                <button type="submit" class="primary self-start whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent disabled:cursor-progress disabled:opacity-60" disabled=move || save.pending().get()>
                                    {move || if save.pending().get() { "Saving…" } else { "Apply override" }}
                                </button>
                            </ActionForm>
                            <div class="mt-5 flex flex-col gap-2">{levels}</div>
                        </section>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="rendered-heading">
                            <h2 id="rendered-heading">"Rendered config"</h2>
                            <pre class="max-h-[36rem] overflow-auto text-xs" id="rendered-config">{c.rendered}</pre>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}

/// The key a refusal is about: messages name it first (`auth.allowSignUp must be…`) or quote
/// it (`The key "auth.nope" is not valid…`).
fn offending_key(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("The key \"") {
        return rest.split('"').next().map(str::to_string);
    }
    let mut words = message.split(' ');
    let first = words.next()?;
    let (key, named) = match first.strip_suffix(':') {
        Some(key) => (key, true),
        None => (
            first,
            matches!(words.next(), Some("must" | "contains" | "is")),
        ),
    };
    let looks_like_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '$' | ':'));
    (named && looks_like_key).then(|| key.to_string())
}
