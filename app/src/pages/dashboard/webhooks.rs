//! The webhooks room: the project's endpoints and a form to add one with its event filter; an
//! endpoint's page (`/webhooks/<id>`) with its signing secret (revealed on asking, rotated),
//! a "send test event" button, on and off, and its delivery attempts with payload and answer,
//! each replayable. Everything works as plain forms.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{
    action_error, format_utc, Field, FormError, FIELD, PANEL, SMALL_BUTTON, TABLE,
};
use crate::server::{
    load_webhook_endpoint, load_webhooks, CreateWebhook, DeleteWebhook, EndpointRow, ReplayWebhook,
    RotateWebhookSecret, SendTestWebhook, SetWebhookEnabled,
};

const BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink";

fn events_of(e: &EndpointRow) -> String {
    if e.event_types.is_empty() {
        "All events".into()
    } else {
        e.event_types.join(", ")
    }
}

/// The hidden fields that name the endpoint in each of its page's forms.
fn endpoint_fields(project_id: &str, endpoint_id: &str) -> impl IntoView {
    view! {
        <input type="hidden" name="project_id" value=project_id.to_string()/>
        <input type="hidden" name="endpoint_id" value=endpoint_id.to_string()/>
    }
}

fn state_of(e: &EndpointRow) -> String {
    match (e.disabled, e.failing_since) {
        (true, _) => "Disabled".into(),
        (false, Some(since)) => format!("Failing since {}", format_utc(since)),
        (false, None) => "Enabled".into(),
    }
}

#[component]
pub fn WebhooksPage() -> impl IntoView {
    let params = use_params_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let create = ServerAction::<CreateWebhook>::new();
    let data = Resource::new(
        move || (project_id.get(), create.version().get()),
        |(id, _)| load_webhooks(id),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let v = match data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let empty = v.endpoints.is_empty();
                let rows = v.endpoints.iter().map(|e| {
                    let href = format!("/projects/{id}/webhooks/{}", e.id);
                    view! {
                        <tr class="webhook-endpoint">
                            <td><a href=href>{e.url.clone()}</a><div class="text-xs text-muted">{e.description.clone()}</div></td>
                            <td>{events_of(e)}</td>
                            <td>{state_of(e)}</td>
                        </tr>
                    }
                }).collect_view();
                let boxes = v.event_types.iter().enumerate().map(|(i, t)| {
                    let name = format!("event_types[{i}]");
                    view! {
                        <label class="flex items-center gap-2 text-sm font-normal">
                            <input type="checkbox" name=name value=t.clone()/>
                            <code>{t.clone()}</code>
                        </label>
                    }
                }).collect_view();
                view! {
                    <ProjectShell project_id=id.clone() project_name=v.project_name.clone() active="webhooks">
                        <section class=PANEL aria-labelledby="webhooks-heading">
                            <h1 id="webhooks-heading">"Webhooks"</h1>
                            <p class="text-sm text-muted">"Gatehouse sends each change to users, teams, memberships and permissions to these endpoints, signed as Svix signs (verify with the svix library and the endpoint's secret), and retries for a day and a half when an endpoint fails."</p>
                            {if empty {
                                view! { <p class="text-sm text-muted">"No endpoints yet. Add the URL of your app's webhook receiver below."</p> }.into_any()
                            } else {
                                view! {
                                    <table class=TABLE>
                                        <thead><tr><th>"Endpoint"</th><th>"Events"</th><th>"State"</th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                        <section class=PANEL aria-labelledby="new-endpoint-heading">
                            <h2 id="new-endpoint-heading">"Add an endpoint"</h2>
                            <ActionForm action=create attr:class="flex flex-col gap-3">
                                <input type="hidden" name="project_id" value=id.clone()/>
                                <Field label="URL" name="url" kind="url"/>
                                <Field label="Description" name="description" required=false/>
                                <fieldset class=FIELD>
                                    <legend class="mb-1">"Events (none ticked: all of them)"</legend>
                                    <div class="grid gap-1 sm:grid-cols-2">{boxes}</div>
                                </fieldset>
                                <FormError message=action_error(create)/>
                                <button type="submit" class=format!("{BUTTON} self-start")>"Add endpoint"</button>
                            </ActionForm>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}

#[component]
pub fn WebhookEndpointPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let ids = Memo::new(move |_| {
        let p = params.read();
        (
            p.get("project_id").unwrap_or_default(),
            p.get("endpoint_id").unwrap_or_default(),
        )
    });
    let show_secret = Memo::new(move |_| query.read().get("secret").as_deref() == Some("show"));
    let toggle = ServerAction::<SetWebhookEnabled>::new();
    let rotate = ServerAction::<RotateWebhookSecret>::new();
    let replay = ServerAction::<ReplayWebhook>::new();
    let test = ServerAction::<SendTestWebhook>::new();
    let delete = ServerAction::<DeleteWebhook>::new();
    let data = Resource::new(
        move || {
            (
                ids.get(),
                show_secret.get(),
                toggle.version().get(),
                rotate.version().get(),
                replay.version().get(),
                test.version().get(),
            )
        },
        |((project, endpoint), show, ..)| load_webhook_endpoint(project, endpoint, show),
    );
    let tested = move || test.value().get().and_then(Result::ok);
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (pid, eid) = ids.get();
                let mut v = match data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let e = v.endpoint.clone();
                let hidden = || endpoint_fields(&pid, &eid);
                let (f_test, f_rotate, f_toggle, f_delete) = (hidden(), hidden(), hidden(), hidden());
                let secret = match v.secret.clone() {
                    Some(s) => view! { <code class="secret break-all" data-key="webhook_secret">{s}</code> }.into_any(),
                    None => view! { <a href="?secret=show" class=BUTTON>"Reveal secret"</a> }.into_any(),
                };
                let empty = v.attempts.is_empty();
                let attempts = std::mem::take(&mut v.attempts).into_iter().map(|a| {
                    let outcome = if a.succeeded { "Delivered" } else { "Failed" };
                    let code = if a.status_code > 0 { a.status_code.to_string() } else { "—".into() };
                    let fields = hidden();
                    let replayed = a.message_id.clone();
                    let response = if a.response.is_empty() { "(empty)".to_string() } else { a.response };
                    view! {
                        <tr class="webhook-attempt" data-message=a.message_id.clone() data-outcome=outcome>
                            <td>{format_utc(a.at)}{a.manual.then_some(" (replay)")}</td>
                            <td><code>{a.event_type.clone()}</code></td>
                            <td>{outcome}" · "{code}" · "{a.duration_ms}" ms"</td>
                            <td>
                                <details>
                                    <summary class="cursor-pointer text-sm">"Payload and answer"</summary>
                                    <p class="mt-2 text-xs text-muted">{a.message_id.clone()}</p>
                                    <pre class="overflow-x-auto text-xs">{a.payload.clone()}</pre>
                                    <p class="text-xs text-muted">"Answer:"</p>
                                    <pre class="overflow-x-auto text-xs">{response}</pre>
                                </details>
                            </td>
                            <td>
                                <ActionForm action=replay attr:class="inline">
                                    {fields}
                                    <input type="hidden" name="message_id" value=replayed/>
                                    <button type="submit" class=SMALL_BUTTON>"Replay"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view();
                let (toggle_label, toggle_to) = if e.disabled { ("Enable", "true") } else { ("Disable", "false") };
                view! {
                    <ProjectShell project_id=ids.get().0 project_name=v.project_name.clone() active="webhooks">
                        <section class=PANEL aria-labelledby="endpoint-heading">
                            <p class="text-sm"><a href=format!("/projects/{}/webhooks", ids.get().0)>"← Webhooks"</a></p>
                            <h1 id="endpoint-heading" class="break-all">{e.url.clone()}</h1>
                            <p class="text-sm text-muted">{e.description.clone()}</p>
                            <dl class="grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                                <dt class="text-muted">"Events"</dt><dd>{events_of(&e)}</dd>
                                <dt class="text-muted">"State"</dt><dd data-key="endpoint_state">{state_of(&e)}</dd>
                                <dt class="text-muted">"Id"</dt><dd><code>{e.id.clone()}</code></dd>
                                <dt class="text-muted">"Signing secret"</dt><dd>{secret}</dd>
                            </dl>
                            <div class="mt-4 flex flex-wrap gap-2">
                                <ActionForm action=test>{f_test}<button type="submit" class=BUTTON>"Send test event"</button></ActionForm>
                                <ActionForm action=rotate>{f_rotate}<button type="submit" class=BUTTON>"Rotate secret"</button></ActionForm>
                                <ActionForm action=toggle>{f_toggle}<input type="hidden" name="enable" value=toggle_to/><button type="submit" class=BUTTON>{toggle_label}</button></ActionForm>
                                <ActionForm action=delete attr:class="flex items-center gap-2">{f_delete}<label class="flex items-center gap-1 text-xs"><input type="checkbox" required/>"Delete it and its log"</label><button type="submit" class=BUTTON>"Delete"</button></ActionForm>
                            </div>
                            {move || tested().map(|m| view! { <p class="mt-2 text-sm" role="status">{m}</p> })}
                            <FormError message=action_error(test)/>
                            <FormError message=action_error(rotate)/>
                            <FormError message=action_error(toggle)/>
                            <FormError message=action_error(delete)/>
                            <p class="mt-2 text-xs text-muted">"After a rotation the old secret keeps signing beside the new one for a day."</p>
                        </section>
                        <section class=PANEL aria-labelledby="attempts-heading">
                            <h2 id="attempts-heading">"Delivery attempts"</h2>
                            <FormError message=action_error(replay)/>
                            {if empty {
                                view! { <p class="text-sm text-muted">"Nothing sent yet. Changes to users and teams, or the test event, show here."</p> }.into_any()
                            } else {
                                view! {
                                    <table class=TABLE>
                                        <thead><tr><th>"When"</th><th>"Event"</th><th>"Outcome"</th><th></th><th></th></tr></thead>
                                        <tbody>{attempts}</tbody>
                                    </table>
                                }.into_any()
                            }}
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
