use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{DashboardError, ProjectShell};
use crate::components::format_utc;
use crate::server::{load_email, load_project_emails};

const PANEL: &str = "panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-2 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold";
const TABLE: &str = "w-full border-collapse text-sm [&_th]:border-b [&_th]:border-line [&_th]:p-2 [&_th]:text-left [&_th]:font-semibold [&_th]:text-muted [&_td]:border-b [&_td]:border-line [&_td]:p-2 [&_td]:[overflow-wrap:anywhere]";

/// Every email the project sent or is sending; with no SMTP server configured, this is the dev
/// inbox, where a newcomer reads verification and sign-in emails.
#[component]
pub fn EmailsPage() -> impl IntoView {
    let params = use_params_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let emails = Resource::new(move || project_id.get(), load_project_emails);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let e = match emails.await {
                    Ok(e) => e,
                    Err(err) => return view! { <DashboardError error=err/> }.into_any(),
                };
                let id = e.id.clone();
                let heading = if e.delivery.is_none() { "Dev inbox" } else { "Emails" };
                let note = match &e.delivery {
                    None => "No SMTP server is configured, so emails are not sent: they are kept here instead. Open one to read it and follow its links. Set the project's email server in its configuration (emails.server), or GATEHOUSE_SMTP_URL for the whole server, to send them.".to_string(),
                    Some(via) => format!("Emails are sent through {via}. Each one's status is kept here."),
                };
                let rows = e.emails.into_iter().map(|m| {
                    let href = format!("/projects/{id}/emails/{}", m.id);
                    let status = m.status.clone();
                    view! {
                        <tr>
                            <td><a href=href>{m.subject}</a></td>
                            <td>{m.to}</td>
                            <td data-status=status>{m.status}</td>
                            <td class="whitespace-nowrap">{format_utc(m.created_at)}</td>
                        </tr>
                    }
                }).collect_view();
                view! {
                    <ProjectShell project_id=e.id.clone() project_name=e.display_name active="emails">
                        <section class=PANEL aria-labelledby="emails-heading">
                            <h1 id="emails-heading">{heading}</h1>
                            <p class="mb-4 text-sm text-muted">{note}</p>
                            <table class=TABLE>
                                <thead><tr><th>"Subject"</th><th>"To"</th><th>"Status"</th><th>"Created"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}

/// One email: who it went to, its status and failed attempts, its links, and its HTML and text.
#[component]
pub fn EmailPage() -> impl IntoView {
    let params = use_params_map();
    let ids = Memo::new(move |_| {
        let p = params.read();
        (
            p.get("project_id").unwrap_or_default(),
            p.get("email_id").unwrap_or_default(),
        )
    });
    let email = Resource::new(move || ids.get(), |(p, e)| load_email(p, e));
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let e = match email.await {
                    Ok(e) => e,
                    Err(err) => return view! { <DashboardError error=err/> }.into_any(),
                };
                let back = format!("/projects/{}/emails", e.project_id);
                let status = e.row.status.clone();
                let via = match e.delivered_via.as_deref() {
                    Some("inbox") => " (kept in the dev inbox)",
                    Some("smtp") => " (over SMTP)",
                    _ => "",
                };
                let links = e.links.into_iter().map(|l| {
                    let shown = l.clone();
                    view! { <li><a href=l target="_blank" rel="noopener noreferrer">{shown}</a></li> }
                }).collect_view();
                let failed = !e.errors.is_empty();
                let errors = e.errors.into_iter().map(|(at, message)| view! {
                    <li><span class="text-muted">{at}</span>" "{message}</li>
                }).collect_view();
                // Links in the preview open in a new tab; the preview runs no script.
                let srcdoc = e.html.replacen("<head>", "<head><base target=\"_blank\">", 1);
                view! {
                    <ProjectShell project_id=e.project_id project_name=e.project_name active="emails">
                        <section class=PANEL aria-labelledby="email-heading">
                            <p class="mb-2 text-sm"><a href=back>"← All emails"</a></p>
                            <h1 id="email-heading">{e.row.subject}</h1>
                            <dl class="mb-4 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm [&_dt]:text-muted">
                                <dt>"To"</dt><dd>{e.row.to}</dd>
                                <dt>"Status"</dt><dd data-status=status>{e.row.status}{via}</dd>
                                <dt>"Created"</dt><dd>{format_utc(e.row.created_at)}</dd>
                            </dl>
                            <h2>"Links"</h2>
                            <ul class="mb-4 list-disc pl-5 text-sm [overflow-wrap:anywhere]" id="email-links">{links}</ul>
                            {failed.then(|| view! { <h2>"Failed attempts"</h2> })}
                            <ul class="mb-4 text-sm text-danger">{errors}</ul>
                            <h2>"As HTML"</h2>
                            <iframe title="The email as HTML" sandbox="allow-popups allow-popups-to-escape-sandbox" srcdoc=srcdoc class="mb-4 h-96 w-full rounded-lg border border-line bg-white"></iframe>
                            <h2>"As text"</h2>
                            <pre class="overflow-x-auto whitespace-pre-wrap text-sm" id="email-text">{e.text}</pre>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
