use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{DashboardError, ProjectShell};
use crate::components::format_utc;
use crate::server::{
    load_email, load_email_template, load_email_templates, load_project_emails,
    preview_email_template, SaveEmailTemplate,
};

const PANEL: &str = "panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-2 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold";
const TABLE: &str = "w-full border-collapse text-sm [&_th]:border-b [&_th]:border-line [&_th]:p-2 [&_th]:text-left [&_th]:font-semibold [&_th]:text-muted [&_td]:border-b [&_td]:border-line [&_td]:p-2 [&_td]:[overflow-wrap:anywhere]";

/// Every email the project sent or is sending; with no SMTP server configured, this is the dev
/// inbox, where a newcomer reads verification and sign-in emails.
#[component]
pub fn EmailsPage() -> impl IntoView {
    let params = use_params_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let emails = Resource::new(move || project_id.get(), load_project_emails);
    let templates = Resource::new(move || project_id.get(), load_email_templates);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let e = match emails.await {
                    Ok(e) => e,
                    Err(err) => return view! { <DashboardError error=err/> }.into_any(),
                };
                let id = e.id.clone();
                let template_rows = templates.await.unwrap_or_default().into_iter().map(|t| {
                    let href = format!("/projects/{id}/emails/templates/{}", t.id);
                    let languages = if t.languages.is_empty() { "—".to_string() } else { t.languages.join(", ") };
                    view! {
                        <tr>
                            <td><a href=href>{t.name}</a></td>
                            <td>{if t.edited { "Edited" } else { "Built-in" }}</td>
                            <td>{languages}</td>
                        </tr>
                    }
                }).collect_view();
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
                        <section class=PANEL aria-labelledby="templates-heading">
                            <h2 id="templates-heading">"Templates"</h2>
                            <p class="mb-3 text-sm text-muted">"The texts of the emails the project sends. Edit one to change its subject and bodies, or to add a language."</p>
                            <table class=TABLE>
                                <thead><tr><th>"Template"</th><th>"Text"</th><th>"Languages"</th></tr></thead>
                                <tbody>{template_rows}</tbody>
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

/// A template's editor: subject, HTML and text, per language, with a preview that follows the
/// typing (example values fill the variables).
#[component]
pub fn EmailTemplatePage() -> impl IntoView {
    let params = use_params_map();
    let query = leptos_router::hooks::use_query_map();
    let key = Memo::new(move |_| {
        let p = params.read();
        (
            p.get("project_id").unwrap_or_default(),
            p.get("template_id").unwrap_or_default(),
            query.read().get("language").unwrap_or_default(),
        )
    });
    let saved = Memo::new(move |_| query.read().get("saved").is_some());
    let editor = Resource::new(move || key.get(), |(p, t, l)| load_email_template(p, t, l));
    // The texts as typed (none until the first keystroke), and their preview. Made here, outside
    // the `Suspense`: a resource first made while a page streams can keep it from finishing.
    let draft = RwSignal::new(None::<(String, String, String)>);
    let live = Resource::new(
        move || (key.get().0, draft.get()),
        |(project, draft)| async move {
            match draft {
                Some((s, h, t)) => preview_email_template(project, s, h, t).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let save = ServerAction::<SaveEmailTemplate>::new();
    let error = crate::components::action_error(save);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let t = match editor.await {
                    Ok(t) => t,
                    Err(err) => return view! { <DashboardError error=err/> }.into_any(),
                };
                let (subject, html, text) = (RwSignal::new(t.subject.clone()), RwSignal::new(t.html.clone()), RwSignal::new(t.text.clone()));
                let typed = move || draft.set(Some((subject.get_untracked(), html.get_untracked(), text.get_untracked())));
                let initial = t.preview.clone();
                let back = format!("/projects/{}/emails", t.project_id);
                let title = if t.language.is_empty() { t.name.clone() } else { format!("{} ({})", t.name, t.language) };
                view! {
                    <ProjectShell project_id=t.project_id.clone() project_name=t.project_name.clone() active="emails">
                        <section class=PANEL aria-labelledby="template-heading">
                            <p class="mb-2 text-sm"><a href=back>"← Emails"</a></p>
                            <h1 id="template-heading">{title}</h1>
                            <p class="mb-3 text-sm text-muted">
                                "Write variables as "<code>"{{ variables.otp }}"</code>", "<code>"{{ project.display_name }}"</code>" and "<code>"{{ user.display_name }}"</code>"; "<code>"{% if … %}…{% endif %}"</code>" works too. Values are escaped in the HTML. To write a language's version, open this page with "<code>"?language=de"</code>" (any language tag); users get the version of their language, else the default."
                            </p>
                            <ActionForm action=save attr:class="flex flex-col gap-3">
                                <input type="hidden" name="project_id" value=t.project_id.clone()/>
                                <input type="hidden" name="template_id" value=t.id.clone()/>
                                <label class="flex flex-col gap-1 text-sm" for="template-language">
                                    <span class="font-semibold">"Language (empty: the default texts)"</span>
                                    <input id="template-language" name="language" value=t.language.clone() class="max-w-xs rounded-lg border border-line bg-page px-2.5 py-1.5"/>
                                </label>
                                <label class="flex flex-col gap-1 text-sm" for="template-subject">
                                    <span class="font-semibold">"Subject"</span>
                                    <input id="template-subject" name="subject" prop:value=move || subject.get() on:input=move |ev| { subject.set(event_target_value(&ev)); typed() }
                                        class="rounded-lg border border-line bg-page px-2.5 py-1.5 font-mono text-xs"/>
                                </label>
                                <label class="flex flex-col gap-1 text-sm" for="template-html">
                                    <span class="font-semibold">"HTML body (inside the theme)"</span>
                                    <textarea id="template-html" name="html" rows="10" spellcheck="false" on:input=move |ev| { html.set(event_target_value(&ev)); typed() }
                                        class="rounded-lg border border-line bg-page px-2.5 py-1.5 font-mono text-xs">{t.html.clone()}</textarea>
                                </label>
                                <label class="flex flex-col gap-1 text-sm" for="template-text">
                                    <span class="font-semibold">"Text body"</span>
                                    <textarea id="template-text" name="text" rows="6" spellcheck="false" on:input=move |ev| { text.set(event_target_value(&ev)); typed() }
                                        class="rounded-lg border border-line bg-page px-2.5 py-1.5 font-mono text-xs">{t.text.clone()}</textarea>
                                </label>
                                <crate::components::FormError message=error/>
                                {move || saved.get().then(|| view! { <p class="m-0 text-sm text-muted" role="status">"Saved."</p> })}
                                <button type="submit" class="primary self-start whitespace-nowrap rounded-lg bg-accent px-4 py-2.5 font-semibold text-on-accent">"Save template"</button>
                            </ActionForm>
                        </section>
                        <section class=PANEL aria-labelledby="preview-heading">
                            <h2 id="preview-heading">"Preview"</h2>
                            {move || {
                                let p = match live.get() {
                                    Some(Ok(Some(p))) => p,
                                    Some(Err(e)) => return view! { <p class="form-error text-sm text-danger">{crate::server::error_message(&e)}</p> }.into_any(),
                                    _ => initial.clone(),
                                };
                                match p.error {
                                    Some(e) => view! { <p class="form-error text-sm text-danger" role="alert" id="preview-error">{e}</p> }.into_any(),
                                    None => view! {
                                        <p class="mb-2 text-sm"><span class="text-muted">"Subject: "</span><strong id="preview-subject">{p.subject}</strong></p>
                                        <iframe title="Preview" sandbox="" srcdoc=p.html class="mb-3 h-96 w-full rounded-lg border border-line bg-white"></iframe>
                                        <pre class="whitespace-pre-wrap text-sm" id="preview-text">{p.text}</pre>
                                    }.into_any(),
                                }
                            }}
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
