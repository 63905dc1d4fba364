use leptos::prelude::*;

use crate::server::NewProjectKeys;

/// New keys (of a project or a key set), with copy buttons; they are not shown again.
#[component]
pub fn NewKeys(keys: NewProjectKeys) -> impl IntoView {
    let rows = [
        ("Project ID", "project_id", keys.project_id),
        (
            "Publishable client key",
            "publishable_client_key",
            keys.publishable_client_key,
        ),
        (
            "Secret server key",
            "secret_server_key",
            keys.secret_server_key,
        ),
        (
            "Super secret admin key",
            "super_secret_admin_key",
            keys.super_secret_admin_key,
        ),
    ];
    view! {
        <section class="rounded-xl border border-accent bg-card px-6 py-5 [&_p]:mb-3 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold [&_dl]:grid [&_dl]:grid-cols-1 sm:[&_dl]:grid-cols-[max-content_1fr] [&_dl]:items-center [&_dl]:gap-x-4 [&_dl]:gap-y-2 [&_dt]:text-sm [&_dt]:text-muted [&_dd]:flex [&_dd]:min-w-0 [&_dd]:items-center [&_dd]:gap-2 [&_code]:break-all [&_code]:text-xs" aria-labelledby="keys-heading">
            <h2 id="keys-heading">{format!("{} is ready", keys.display_name)}</h2>
            <p>"Copy these keys now: the secret ones are stored only as hashes and will not be shown again."</p>
            <dl>
                {rows.into_iter().map(|(label, name, value)| view! {
                    <dt>{label}</dt>
                    <dd>
                        <code data-key=name>{value.clone()}</code>
                        // public/copy.js copies it, as soon as the page is shown.
                        <button type="button" class="secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink" data-copy=value>
                            "Copy"
                        </button>
                    </dd>
                }).collect_view()}
            </dl>
        </section>
    }
}
