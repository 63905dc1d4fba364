use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{DashboardError, ProjectShell};
use crate::components::{format_utc, BarChart};
use crate::server::project_overview;

/// A project at a glance: how many users, sign-ups over the last 30 days, who was active.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let params = use_params_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let overview = Resource::new(move || project_id.get(), project_overview);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let o = match overview.await {
                    Ok(o) => o,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let recent: i64 = o.sign_ups.iter().sum();
                let handler = format!("/handler/{}", project_id.get());
                let hosted = ["sign-up", "sign-in", "account-settings"].map(|page| {
                    let href = format!("{handler}/{page}");
                    let text = href.clone();
                    view! { <li><a href=href><code>{text}</code></a></li> }
                }).into_iter().collect_view();
                let active = o.recently_active.into_iter().map(|u| view! {
                    <li><span>{u.email.unwrap_or_else(|| "(no email)".into())}</span>
                        <small class="text-sm text-muted">{format_utc(u.last_active_at)}</small></li>
                }).collect_view();
                view! {
                    <ProjectShell project_id=project_id.get() project_name=o.project_name active="overview">
                        <section class="grid grid-cols-1 gap-5 sm:grid-cols-2">
                            <div class="flex flex-col gap-1 rounded-xl border border-line bg-card px-6 py-5 [&_strong]:text-3xl"><span class="text-sm text-muted">"Users"</span><strong data-stat="total-users">{o.total_users}</strong></div>
                            <div class="flex flex-col gap-1 rounded-xl border border-line bg-card px-6 py-5 [&_strong]:text-3xl"><span class="text-sm text-muted">"Sign-ups, last 30 days"</span><strong data-stat="recent-sign-ups">{recent}</strong></div>
                        </section>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="signups-heading">
                            <h1 id="signups-heading">"Sign-ups"</h1>
                            <BarChart values=o.sign_ups first_ms=o.first_day_ms label="Sign-ups per day over the last 30 days"/>
                        </section>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="hosted-heading">
                            <h2 id="hosted-heading">"Hosted pages"</h2>
                            <p class="mb-2 text-sm text-muted">"Send your users here to sign up and sign in; add "<code>"?after_auth_return_to=…"</code>" to bring them back."</p>
                            <ul class="hosted flex flex-col gap-1 text-sm">{hosted}</ul>
                        </section>
                        <section class="panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold" aria-labelledby="active-heading">
                            <h2 id="active-heading">"Recently active"</h2>
                            <ul class="recent flex flex-col gap-2 text-sm [&_li]:flex [&_li]:justify-between [&_li]:gap-4">{active}</ul>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
