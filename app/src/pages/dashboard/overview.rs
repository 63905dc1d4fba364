use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{DashboardError, ProjectShell};
use crate::components::{format_utc, DailyChart};
use crate::server::project_overview;

/// A project at a glance: how many users, sign-ups over the last 30 days, who was active.
#[component]
pub fn OverviewPage() -> impl IntoView {
    let params = use_params_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let overview = Resource::new(move || project_id.get(), project_overview);
    view! {
        <Suspense fallback=|| view! { <p class="loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let o = match overview.await {
                    Ok(o) => o,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let recent: i64 = o.sign_ups.iter().sum();
                let active = o.recently_active.into_iter().map(|u| view! {
                    <li><span>{u.email.unwrap_or_else(|| "(no email)".into())}</span>
                        <small class="muted">{format_utc(u.last_active_at)}</small></li>
                }).collect_view();
                view! {
                    <ProjectShell project_id=project_id.get() project_name=o.project_name active="overview">
                        <section class="stats">
                            <div class="panel stat"><span class="muted">"Users"</span><strong data-stat="total-users">{o.total_users}</strong></div>
                            <div class="panel stat"><span class="muted">"Sign-ups, last 30 days"</span><strong data-stat="recent-sign-ups">{recent}</strong></div>
                        </section>
                        <section class="panel" aria-labelledby="signups-heading">
                            <h1 id="signups-heading">"Sign-ups"</h1>
                            <DailyChart values=o.sign_ups first_day_ms=o.first_day_ms label="Sign-ups per day over the last 30 days"/>
                        </section>
                        <section class="panel" aria-labelledby="active-heading">
                            <h2 id="active-heading">"Recently active"</h2>
                            <ul class="recent">{active}</ul>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
