//! The sign-up rules room: the rules in the order they run (arrows move them), each with its
//! triggers over 48 hours; the editor (`?edit=<id>`), which points at a condition's problem;
//! the default action; and a tester (`?test_email=…`) showing which rule fires for a sign-up.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{action_error, encode_component, BarChart, Field, FormError, FIELD};
use crate::components::{PANEL, SMALL_BUTTON};
use crate::server::{
    load_sign_up_rules, test_sign_up_rules, ConditionProblem, DeleteSignUpRule, MoveSignUpRule,
    RuleTest, SaveSignUpRule, SetSignUpDefaultAction, SignUpRuleRow, SignUpRulesView,
};

const BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink";
const HOUR_MS: i64 = 3_600_000;
const ACTIONS: [(&str, &str); 4] = [
    ("reject", "Reject the sign-up"),
    ("allow", "Allow the sign-up"),
    ("restrict", "Allow, but restrict the new user"),
    ("log", "Only count it"),
];

/// The condition's line with a caret under the problem's column.
fn pointed(condition: &str, p: &ConditionProblem) -> String {
    let line = condition
        .lines()
        .nth(p.line.saturating_sub(1))
        .unwrap_or("");
    format!("{line}\n{}^", " ".repeat(p.column.saturating_sub(1)))
}

#[component]
fn RuleList(
    project_id: String,
    view: SignUpRulesView,
    moved: ServerAction<MoveSignUpRule>,
    deleted: ServerAction<DeleteSignUpRule>,
) -> impl IntoView {
    let count = view.rules.len();
    if count == 0 {
        return view! { <p class="text-sm text-muted">"No rules yet: every sign-up follows the default action below."</p> }.into_any();
    }
    let first_hour = view.first_hour;
    let items = view
        .rules
        .into_iter()
        .enumerate()
        .map(|(i, r): (usize, SignUpRuleRow)| {
            let rid = r.id.clone();
            let arrow = |direction: &'static str, label: &'static str, shown: bool| {
                let (pid, id, aria) = (project_id.clone(), rid.clone(), format!("{label}: {rid}"));
                shown.then(|| view! {
                    <ActionForm action=moved>
                        <input type="hidden" name="project_id" value=pid/>
                        <input type="hidden" name="id" value=id/>
                        <input type="hidden" name="direction" value=direction/>
                        <button type="submit" class=SMALL_BUTTON aria-label=aria>{label}</button>
                    </ActionForm>
                }.into_any())
            };
            let up = arrow("up", "↑", i > 0);
            let down = arrow("down", "↓", i + 1 < count);
            let edit = format!("/projects/{project_id}/sign-up-rules?edit={}#editor", encode_component(&r.id));
            let (pid, id) = (project_id.clone(), r.id.clone());
            let recent: i64 = r.hourly.iter().sum();
            let label = format!("Triggers of {} per hour, last 48 hours", r.id);
            let chart = view! { <BarChart values=r.hourly.clone() first_ms=first_hour step_ms=HOUR_MS label=label height="h-10"/> }.into_any();
            let actions = view! {
                <span class="ml-auto flex items-center gap-1">
                    {up}{down}
                    <a class=SMALL_BUTTON href=edit>"Edit"</a>
                    <ActionForm action=deleted>
                        <input type="hidden" name="project_id" value=pid/>
                        <input type="hidden" name="id" value=id/>
                        <button type="submit" class=SMALL_BUTTON>"Delete"</button>
                    </ActionForm>
                </span>
            }.into_any();
            view! {
                <li class="sign-up-rule flex flex-col gap-2 border-b border-line py-3" data-id=r.id.clone()>
                    <div class="flex flex-wrap items-center gap-2">
                        <span class="text-xs text-muted">{i + 1}"."</span>
                        <code class="font-semibold">{r.id.clone()}</code>
                        <span class="text-sm">{r.display_name.clone()}</span>
                        <span class="rounded border border-line px-1.5 text-xs font-semibold uppercase">{r.action.clone()}</span>
                        {(!r.enabled).then(|| view! { <span class="text-xs text-muted">"(disabled)"</span> })}
                        {actions}
                    </div>
                    <code class="block whitespace-pre-wrap break-all text-xs">{r.condition.clone()}</code>
                    <div class="flex items-end gap-3">
                        <div class="min-w-0 flex-1">{chart}</div>
                        <span class="trigger-counts whitespace-nowrap text-xs text-muted">{recent}" in 48 h · "{r.all_time}" in all"</span>
                    </div>
                </li>
            }.into_any()
        })
        .collect_view();
    view! { <ol class="m-0 list-none p-0">{items}</ol> }.into_any()
}

#[component]
fn Editor(
    project_id: String,
    editing: Option<SignUpRuleRow>,
    save: ServerAction<SaveSignUpRule>,
) -> impl IntoView {
    let problem = Signal::derive(move || save.value().get().and_then(|r| r.ok()).flatten());
    let typed = RwSignal::new(
        editing
            .as_ref()
            .map(|r| r.condition.clone())
            .unwrap_or_default(),
    );
    let r = editing.clone();
    let old_id = r.as_ref().map(|r| r.id.clone()).unwrap_or_default();
    let heading = match &r {
        Some(r) => format!("Edit rule {}", r.id),
        None => "New rule".to_string(),
    };
    let action = r
        .as_ref()
        .map_or("reject".to_string(), |r| r.action.clone());
    let options = ACTIONS
        .iter()
        .map(|(value, label)| view! { <option value=*value selected=*value == action>{*label}</option> })
        .collect_view();
    let enabled = r.as_ref().is_none_or(|r| r.enabled);
    let new_rule = format!("/projects/{project_id}/sign-up-rules#editor");
    view! {
        <section class=PANEL id="editor" aria-labelledby="editor-heading">
            <h2 id="editor-heading">{heading}</h2>
            <ActionForm action=save attr:class="flex max-w-2xl flex-col gap-3">
                <input type="hidden" name="project_id" value=project_id/>
                <input type="hidden" name="old_id" value=old_id/>
                <Field label="ID (letters, digits, _ and -)" name="id" value=r.as_ref().map(|r| r.id.clone()).unwrap_or_default() id="rule-id"/>
                <Field label="Name" name="display_name" required=false value=r.as_ref().map(|r| r.display_name.clone()).unwrap_or_default() id="rule-name"/>
                <label class=FIELD for="rule-condition">
                    <span>"Condition (CEL)"</span>
                    <textarea id="rule-condition" name="condition" rows="3" required class="font-mono text-sm"
                        prop:value=move || typed.get()
                        on:input=move |ev| typed.set(event_target_value(&ev))>{typed.get_untracked()}</textarea>
                </label>
                {move || problem.get().map(|p| {
                    let shown = pointed(&typed.get_untracked(), &p);
                    view! {
                        <div class="condition-problem text-sm text-danger" role="alert">
                            <p class="m-0">{format!("Line {}, column {}: {}", p.line, p.column, p.message)}</p>
                            <pre class="m-0 overflow-x-auto text-xs">{shown}</pre>
                        </div>
                    }
                })}
                <p class="m-0 text-xs text-muted">"Variables: "<code>"email"</code>", "<code>"emailDomain"</code>", "<code>"authMethod"</code>" (password, otp, oauth, passkey), "<code>"oauthProvider"</code>", "<code>"countryCode"</code>". For example "<code>"emailDomain in [\"example.com\"] || email.matches(\"^test\\\\+\")"</code>"."</p>
                <label class=FIELD for="rule-action">
                    <span>"When it matches"</span>
                    <select id="rule-action" name="action">{options}</select>
                </label>
                <Field label="Message shown to a rejected person (optional)" name="message" required=false value=r.as_ref().map(|r| r.message.clone()).unwrap_or_default() id="rule-message"/>
                <label class="flex items-center gap-2 text-sm">
                    <input type="checkbox" name="enabled" value="on" checked=enabled/>
                    "Enabled"
                </label>
                <button type="submit" class=BUTTON>{if r.is_some() { "Save rule" } else { "Create rule" }}</button>
                <FormError message=action_error(save)/>
                {move || save.value().get().is_some_and(|v| matches!(v, Ok(None))).then(|| view! { <p class="m-0 text-sm text-muted" role="status">"Saved."</p> })}
            </ActionForm>
            {editing.is_some().then(|| view! {
                <p class="mt-3 text-sm"><a href=new_rule>"Write a new rule instead"</a></p>
            })}
        </section>
    }
}

/// The tester's answer for the `test_*` query, when there is one.
type TestResult = Resource<Option<Result<RuleTest, ServerFnError>>>;

fn test_result(project_id: Memo<String>) -> TestResult {
    let query = use_query_map();
    Resource::new(
        move || {
            let q = query.read();
            let get = |k: &str| q.get(k).unwrap_or_default();
            (
                project_id.get(),
                q.get("test_email"),
                get("test_method"),
                get("test_provider"),
                get("test_country"),
            )
        },
        |(pid, email, method, provider, country)| async move {
            let email = email?;
            Some(test_sign_up_rules(pid, email, method, provider, country).await)
        },
    )
}

#[component]
fn Tester(project_id: String, result: TestResult) -> impl IntoView {
    let query = use_query_map();
    let get = move |k: &str| query.read_untracked().get(k).unwrap_or_default();
    let method = get("test_method");
    let methods = ["password", "otp", "oauth", "passkey"]
        .into_iter()
        .map(|m| view! { <option value=m selected=method == m>{m}</option> })
        .collect_view();
    view! {
        <section class=PANEL aria-labelledby="tester-heading">
            <h2 id="tester-heading">"Try a sign-up"</h2>
            <form method="get" action=format!("/projects/{project_id}/sign-up-rules") class="flex flex-wrap items-end gap-2">
                <Field label="Email" name="test_email" kind="email" value=get("test_email") id="test-email"/>
                <label class=FIELD for="test-method">
                    <span>"Method"</span>
                    <select id="test-method" name="test_method">{methods}</select>
                </label>
                <Field label="OAuth provider" name="test_provider" required=false value=get("test_provider") id="test-provider"/>
                <Field label="Country (two letters)" name="test_country" required=false value=get("test_country") id="test-country"/>
                <button type="submit" class=BUTTON>"Test"</button>
            </form>
            <Suspense fallback=|| ()>
                {move || Suspend::new(async move {
                    match result.await {
                        None => ().into_any(),
                        Some(Err(e)) => view! { <p class="form-error text-sm text-danger" role="alert">{crate::server::error_message(&e)}</p> }.into_any(),
                        Some(Ok(t)) => {
                            let outcome = match (&t.decided_by, t.should_allow) {
                                (Some(rule), true) => format!("Allowed by rule {rule}."),
                                (Some(rule), false) => format!("Rejected by rule {rule}."),
                                (None, true) => "Allowed: no rule decided, and the default is to allow.".to_string(),
                                (None, false) => "Rejected: no rule decided, and the default is to reject.".to_string(),
                            };
                            let restricted = t.restricted_by.clone().filter(|_| t.should_allow).map(|r| format!(" The new user would be restricted (rule {r})."));
                            let rows = t.evaluations.into_iter().map(|(id, status, error)| {
                                let shown = status.replace('_', " ");
                                let rule = id.clone();
                                view! {
                                    <tr data-rule=rule data-status=status>
                                        <td class="pr-4"><code>{id}</code></td>
                                        <td class="pr-4">{shown}</td>
                                        <td class="text-danger">{error}</td>
                                    </tr>
                                }
                            }).collect_view();
                            view! {
                                <p class="test-outcome mt-4 font-semibold" role="status">{outcome}{restricted}</p>
                                <table class="text-sm"><tbody>{rows}</tbody></table>
                            }.into_any()
                        }
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
pub fn SignUpRulesPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let save = ServerAction::<SaveSignUpRule>::new();
    let moved = ServerAction::<MoveSignUpRule>::new();
    let deleted = ServerAction::<DeleteSignUpRule>::new();
    let default = ServerAction::<SetSignUpDefaultAction>::new();
    // Only a save that went through reloads the page's data: a refused one keeps the form as
    // typed, with the problem under it.
    let saved = Memo::new(move |before: Option<&usize>| {
        let n = before.copied().unwrap_or(0);
        if matches!(save.value().get(), Some(Ok(None))) {
            n + 1
        } else {
            n
        }
    });
    let data = Resource::new(
        move || {
            (
                project_id.get(),
                saved.get(),
                moved.version().get(),
                deleted.version().get(),
                default.version().get(),
            )
        },
        |(id, ..)| load_sign_up_rules(id),
    );
    let editing = Resource::new(
        move || (project_id.get(), query.read().get("edit"), saved.get()),
        |(id, edit, _)| async move {
            match edit {
                Some(edit) => load_sign_up_rules(id)
                    .await
                    .map(|v| v.rules.into_iter().find(|r| r.id == edit)),
                None => Ok(None),
            }
        },
    );
    let tested = test_result(project_id);
    let errors = (
        action_error(moved),
        action_error(deleted),
        action_error(default),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let v = match data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let editing = editing.await.ok().flatten();
                let by_action = v.by_action.iter().map(|(a, n)| format!("{n} {a}")).collect::<Vec<_>>().join(" · ");
                let default_allows = v.default_allows;
                let (id2, id3, id4, id5) = (id.clone(), id.clone(), id.clone(), id.clone());
                view! {
                    <ProjectShell project_id=id.clone() project_name=v.project_name.clone() active="sign-up-rules">
                        <section class=PANEL aria-labelledby="rules-heading">
                            <h1 id="rules-heading">"Sign-up rules"</h1>
                            <p class="text-sm text-muted">"Every new account (password, code, OAuth, passkey; not anonymous) meets these rules from the top: the first that matches and allows or rejects decides. Restrict and log rules count and let the next rules speak."</p>
                            <p class="text-xs text-muted">"Last 48 hours: "{by_action}</p>
                            <FormError message=errors.0/>
                            <FormError message=errors.1/>
                            <RuleList project_id=id2 view=v.clone() moved=moved deleted=deleted/>
                            <ActionForm action=default attr:class="mt-4 flex flex-wrap items-end gap-2">
                                <input type="hidden" name="project_id" value=id3/>
                                <label class=FIELD for="default-action">
                                    <span>"When no rule decides"</span>
                                    <select id="default-action" name="action">
                                        <option value="allow" selected=default_allows>"Allow the sign-up"</option>
                                        <option value="reject" selected=!default_allows>"Reject the sign-up"</option>
                                    </select>
                                </label>
                                <button type="submit" class=BUTTON>"Save"</button>
                            </ActionForm>
                            <FormError message=errors.2/>
                        </section>
                        <Editor project_id=id4 editing=editing save=save/>
                        <Tester project_id=id5 result=tested/>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
