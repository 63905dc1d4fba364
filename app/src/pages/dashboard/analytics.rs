//! The analytics room: ready-made panels (daily active users, sign-ups by method, top pages,
//! sign-in failures), a SQL editor whose query lives in the URL (`?q=…`, a plain GET form) with
//! its result as a table and a chart, saved queries in folders, retention, and the session
//! replays (`/analytics/replays`), each played with rrweb-player beside the user's events.
//! Everything but the player works without JavaScript; the player needs it (it rebuilds the
//! recorded page in the browser).

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use super::{DashboardError, ProjectShell};
use crate::components::{
    action_error, encode_component, format_utc, FormError, FIELD, PANEL, SMALL_BUTTON, TABLE,
};
use crate::server::{
    load_analytics, load_replay, load_replays, DeleteAnalyticsQuery, QueryTable,
    SaveAnalyticsQuery, SaveRetention, SetAnalyticsEnabled,
};

const BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-3 py-1 text-sm font-semibold text-ink";
const PRIMARY: &str = "primary self-start whitespace-nowrap rounded-lg bg-accent px-4 py-2 font-semibold text-on-accent";

/// A chart of a query's points: a line over time (`line`), or bars by category.
#[component]
fn PointsChart(
    points: Vec<(String, f64)>,
    kind: String,
    #[prop(into)] label: String,
) -> impl IntoView {
    const W: f64 = 600.0;
    const H: f64 = 160.0;
    let max = points.iter().map(|p| p.1).fold(0.0, f64::max).max(1.0);
    let n = points.len().max(1) as f64;
    let y = move |v: f64| H - 4.0 - v / max * (H - 12.0);
    // One point is no line: it is drawn as a bar.
    let kind = if points.len() < 2 {
        "bar".to_string()
    } else {
        kind
    };
    let shapes = if kind == "line" {
        let step = if points.len() > 1 { W / (n - 1.0) } else { 0.0 };
        let path: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, (_, v))| format!("{:.1},{:.1}", i as f64 * step, y(*v)))
            .collect();
        let dots = points.iter().enumerate().map(|(i, (l, v))| view! {
            <circle cx=format!("{:.1}", i as f64 * step) cy=format!("{:.1}", y(*v)) r="3" class="fill-accent" data-value=v.to_string()>
                <title>{format!("{l}: {v}")}</title>
            </circle>
        }).collect_view();
        view! {
            <polyline points=path.join(" ") fill="none" stroke="currentColor" stroke-width="2" class="text-accent"/>
            {dots}
        }
        .into_any()
    } else {
        let band = W / n;
        points
            .iter()
            .enumerate()
            .map(|(i, (l, v))| {
                let top = y(*v);
                view! {
                    <rect x=format!("{:.1}", i as f64 * band + band * 0.1) y=format!("{top:.1}") width=format!("{:.1}", band * 0.8)
                        height=format!("{:.1}", (H - 4.0 - top).max(1.0)) rx="2" class="bar fill-accent" data-value=v.to_string()>
                        <title>{format!("{l}: {v}")}</title>
                    </rect>
                }
            })
            .collect_view()
            .into_any()
    };
    // Bars are named one by one; a line by its first and last point.
    let names = if kind == "line" {
        vec![
            points.first().map(|p| p.0.clone()).unwrap_or_default(),
            points.last().map(|p| p.0.clone()).unwrap_or_default(),
        ]
    } else {
        points.iter().map(|p| p.0.clone()).collect()
    };
    let columns = format!(
        "grid-template-columns: repeat({}, minmax(0, 1fr))",
        names.len().max(1)
    );
    view! {
        <figure class="chart [&_svg]:block [&_svg]:w-full [&_figcaption]:mt-1 [&_figcaption]:text-xs [&_figcaption]:text-muted">
            <svg class="h-40" viewBox=format!("0 0 {W} {H}") role="img" aria-label=label.clone() preserveAspectRatio="none" data-kind=kind.clone()>{shapes}</svg>
            <div class="mt-1 grid text-xs text-muted" style=columns>
                {names.into_iter().enumerate().map(|(i, n)| {
                    let align = if kind == "line" && i == 1 { "truncate text-right" } else { "truncate text-center" };
                    let shown = n.clone();
                    view! { <span class=align title=n>{shown}</span> }
                }).collect_view()}
            </div>
            <figcaption>{label}</figcaption>
        </figure>
    }
}

/// A query's answer: its error, or its rows as a table (at most 200 shown).
#[component]
fn ResultTable(table: QueryTable) -> impl IntoView {
    if let Some(error) = table.error {
        return view! { <p class="form-error text-sm text-danger" role="alert">{error}</p> }
            .into_any();
    }
    if table.rows.is_empty() {
        return view! { <p class="text-sm text-muted">"No rows."</p> }.into_any();
    }
    let shown = table.rows.len().min(200);
    let more = (table.rows.len() > shown)
        .then(|| format!("The first {shown} of {} rows.", table.rows.len()));
    view! {
        <div class="overflow-x-auto">
            <table class=format!("{TABLE} result")>
                <thead><tr>{table.columns.iter().map(|c| view! { <th>{c.clone()}</th> }).collect_view()}</tr></thead>
                <tbody>
                    {table.rows.into_iter().take(shown).map(|row| view! {
                        <tr>{row.into_iter().map(|c| view! { <td class="font-mono text-xs">{c}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
        {more.map(|m| view! { <p class="text-xs text-muted">{m}</p> })}
    }
    .into_any()
}

/// Whether a chart's labels are days (`2026-12-01…`): drawn as a line.
fn looks_like_days(points: &[(String, f64)]) -> bool {
    !points.is_empty()
        && points
            .iter()
            .all(|(l, _)| l.len() >= 10 && l.as_bytes()[4] == b'-' && l.as_bytes()[7] == b'-')
}

#[component]
pub fn AnalyticsPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let sql = Memo::new(move |_| query.read().get("q"));
    let save = ServerAction::<SaveAnalyticsQuery>::new();
    let delete = ServerAction::<DeleteAnalyticsQuery>::new();
    let toggle = ServerAction::<SetAnalyticsEnabled>::new();
    let retention = ServerAction::<SaveRetention>::new();
    let data = Resource::new(
        move || {
            (
                project_id.get(),
                sql.get(),
                save.version().get()
                    + delete.version().get()
                    + toggle.version().get()
                    + retention.version().get(),
            )
        },
        |(id, sql, _)| load_analytics(id, sql),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let v = match data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let text = sql.get().unwrap_or_default();
                if !v.enabled {
                    return view! {
                        <ProjectShell project_id=id.clone() project_name=v.project_name active="analytics">
                            <section class=PANEL aria-labelledby="analytics-heading">
                                <h1 id="analytics-heading">"Analytics"</h1>
                                <p class="text-sm text-muted">"Analytics is off for this project. Turned on, Gatehouse records sign-ups, sign-ins, token refreshes and sign-in failures, takes the page views, clicks and session replays the SDK sends, and lets you query all of it with SQL — on the database it already has."</p>
                                <ActionForm action=toggle>
                                    <input type="hidden" name="project_id" value=id.clone()/>
                                    <input type="hidden" name="enabled" value="true"/>
                                    <FormError message=action_error(toggle)/>
                                    <button type="submit" class=PRIMARY>"Turn on analytics"</button>
                                </ActionForm>
                            </section>
                        </ProjectShell>
                    }.into_any();
                }
                let panels = v.panels.into_iter().map(|p| {
                    let open = format!("?q={}", encode_component(&p.sql));
                    let chart = (!p.table.points.is_empty()).then(|| {
                        let label = p.title.clone();
                        view! { <PointsChart points=p.table.points.clone() kind=p.chart.clone() label=label/> }
                    });
                    let empty = p.table.error.is_none() && p.table.rows.is_empty();
                    view! {
                        <section class="analytics-panel rounded-xl border border-line bg-card px-4 py-3" data-panel=p.id.clone()>
                            <div class="mb-2 flex items-baseline justify-between gap-2">
                                <h2 class="text-sm font-semibold">{p.title.clone()}</h2>
                                <a class="text-xs" href=open>"Open in the editor"</a>
                            </div>
                            {chart}
                            {if empty {
                                view! { <p class="text-sm text-muted">"Nothing yet. Events arrive as people sign up and sign in, and from apps using the SDK."</p> }.into_any()
                            } else {
                                view! { <details class="text-sm"><summary class="cursor-pointer text-muted">"Rows"</summary><ResultTable table=p.table/></details> }.into_any()
                            }}
                        </section>
                    }
                }).collect_view();
                let result = v.result.map(|r| {
                    let kind = if looks_like_days(&r.points) { "line" } else { "bar" };
                    let chart = (!r.points.is_empty() && r.error.is_none()).then(|| view! {
                        <PointsChart points=r.points.clone() kind=kind.to_string() label="The result's last column by its first"/>
                    });
                    view! { <div id="query-result" class="mt-4 flex flex-col gap-3">{chart}<ResultTable table=r/></div> }
                });
                let mut folders: Vec<(String, Vec<crate::server::SavedQuery>)> = Vec::new();
                for q in v.saved {
                    match folders.iter_mut().find(|(name, _)| *name == q.folder_name) {
                        Some((_, qs)) => qs.push(q),
                        None => folders.push((q.folder_name.clone(), vec![q])),
                    }
                }
                let no_saved = folders.is_empty();
                let saved = folders.into_iter().map(|(folder, qs)| view! {
                    <li class="mb-2">
                        <span class="text-sm font-semibold">{folder}</span>
                        <ul class="ml-3">
                            {qs.into_iter().map(|q| {
                                let href = format!("?q={}", encode_component(&q.sql));
                                let pid = id.clone();
                                view! {
                                    <li class="saved-query flex items-center justify-between gap-2 text-sm">
                                        <a href=href>{q.name}</a>
                                        <ActionForm action=delete>
                                            <input type="hidden" name="project_id" value=pid/>
                                            <input type="hidden" name="folder_id" value=q.folder_id/>
                                            <input type="hidden" name="query_id" value=q.query_id/>
                                            <button type="submit" class=SMALL_BUTTON aria-label="Delete this saved query">"Delete"</button>
                                        </ActionForm>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    </li>
                }).collect_view();
                let tables = v.tables.into_iter().map(|(t, cols)| view! {
                    <li class="text-xs"><code class="font-semibold">{t}</code>" "<span class="text-muted">{cols.join(", ")}</span></li>
                }).collect_view();
                let has_query = !text.trim().is_empty();
                let (retention_id, toggle_id) = (id.clone(), id.clone());
                let (save_id, save_sql) = (id.clone(), text.clone());
                let save_form = has_query.then(move || view! {
                    <ActionForm action=save attr:class="mt-4 flex flex-wrap items-end gap-2">
                        <input type="hidden" name="project_id" value=save_id/>
                        <input type="hidden" name="sql" value=save_sql/>
                        <label class=FIELD>"Folder"<input name="folder" placeholder="Saved queries"/></label>
                        <label class=FIELD>"Name"<input name="name" required/></label>
                        <button type="submit" class=BUTTON>"Save query"</button>
                        <FormError message=action_error(save)/>
                    </ActionForm>
                });
                view! {
                    <ProjectShell project_id=id.clone() project_name=v.project_name active="analytics">
                        <section class=PANEL aria-labelledby="analytics-heading">
                            <div class="flex flex-wrap items-baseline justify-between gap-2">
                                <h1 id="analytics-heading">"Analytics"</h1>
                                <a href=format!("/projects/{id}/analytics/replays")>"Session replays →"</a>
                            </div>
                            <div class="grid gap-3 md:grid-cols-2">{panels}</div>
                        </section>
                        <section class=PANEL aria-labelledby="query-heading">
                            <h2 id="query-heading">"Query"</h2>
                            <p class="text-sm text-muted">{format!("Read-only {} over this project's own tables; every other project's rows are out of reach. At most 10,000 rows.", v.dialect)}</p>
                            <form method="get" class="flex flex-col gap-2" role="search">
                                <label class="sr-only" for="analytics-sql">"SQL"</label>
                                <textarea id="analytics-sql" name="q" rows="6" spellcheck="false"
                                    class="rounded-lg border border-line bg-page px-2.5 py-1.5 font-mono text-xs"
                                    placeholder="SELECT event_type, count(*) AS n FROM events GROUP BY 1 ORDER BY 2 DESC">{text.clone()}</textarea>
                                <button type="submit" class=PRIMARY>"Run"</button>
                            </form>
                            {result}
                            {save_form}
                        </section>
                        <section class=PANEL aria-labelledby="saved-heading">
                            <h2 id="saved-heading">"Saved queries"</h2>
                            {if no_saved {
                                view! { <p class="text-sm text-muted">"None yet. Run a query, then save it under a name; it is kept in the project's config (analytics.queryFolders)."</p> }.into_any()
                            } else {
                                view! { <ul>{saved}</ul> }.into_any()
                            }}
                            <details class="mt-3"><summary class="cursor-pointer text-sm text-muted">"Tables and columns"</summary><ul class="mt-2">{tables}</ul></details>
                        </section>
                        <section class=PANEL aria-labelledby="analytics-settings-heading">
                            <h2 id="analytics-settings-heading">"Settings"</h2>
                            <ActionForm action=retention attr:class="flex flex-wrap items-end gap-2">
                                <input type="hidden" name="log" value="analytics"/>
                                <input type="hidden" name="project_id" value=retention_id/>
                                <label class=FIELD>"Keep events for (days)"<input name="retention_days" type="number" min="1" max="3650" value=v.retention_days.to_string()/></label>
                                <button type="submit" class=BUTTON>"Save"</button>
                                <FormError message=action_error(retention)/>
                            </ActionForm>
                            <ActionForm action=toggle attr:class="mt-3">
                                <input type="hidden" name="project_id" value=toggle_id/>
                                <input type="hidden" name="enabled" value="false"/>
                                <button type="submit" class=BUTTON>"Turn analytics off"</button>
                            </ActionForm>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}

fn duration(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s >= 60 {
        format!("{}m {:02}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// The project's session replays, filtered with a plain GET form.
#[component]
pub fn ReplaysPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let project_id = Memo::new(move |_| params.read().get("project_id").unwrap_or_default());
    let filters = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("user_id"),
            q.get("clicks"),
            q.get("duration"),
            q.get("cursor"),
        )
    });
    let data = Resource::new(
        move || (project_id.get(), filters.get()),
        |(id, (user, clicks, duration, cursor))| load_replays(id, user, clicks, duration, cursor),
    );
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let id = project_id.get();
                let (user, clicks, duration_s, _) = filters.get();
                let v = match data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let empty = v.replays.is_empty();
                let rows = v.replays.into_iter().map(|r| view! {
                    <tr class="replay-row">
                        // A page of its own (not the dashboard's navigation): the player's
                        // scripts run as the page loads.
                        <td><a href=format!("/projects/{id}/analytics/replays/{}", r.id) rel="external">{format_utc(r.started_at)}</a></td>
                        <td><a href=format!("/projects/{id}/users/{}", r.user_id)>{r.user}</a></td>
                        <td>{duration(r.duration_ms)}</td>
                        <td>{r.chunks}</td>
                        <td>{r.events}</td>
                    </tr>
                }).collect_view();
                let next = v.next_cursor.map(|c| format!(
                    "?user_id={}&clicks={}&duration={}&cursor={}",
                    encode_component(&user.clone().unwrap_or_default()), encode_component(&clicks.clone().unwrap_or_default()),
                    encode_component(&duration_s.clone().unwrap_or_default()), encode_component(&c)
                ));
                view! {
                    <ProjectShell project_id=id.clone() project_name=v.project_name active="analytics">
                        <section class=PANEL aria-labelledby="replays-heading">
                            <div class="flex flex-wrap items-baseline justify-between gap-2">
                                <h1 id="replays-heading">"Session replays"</h1>
                                <a href=format!("/projects/{id}/analytics")>"← Analytics"</a>
                            </div>
                            <form method="get" class="mb-4 flex flex-wrap items-end gap-2" role="search">
                                <label class=FIELD>"User ID"<input name="user_id" value=user.unwrap_or_default()/></label>
                                <label class=FIELD>"At least … clicks"<input name="clicks" type="number" min="0" value=clicks.unwrap_or_default()/></label>
                                <label class=FIELD>"At least … seconds"<input name="duration" type="number" min="0" value=duration_s.unwrap_or_default()/></label>
                                <button type="submit" class=BUTTON>"Filter"</button>
                            </form>
                            {if empty {
                                view! { <p class="text-sm text-muted">"No replays. Apps record them with the SDK's analytics option (replays enabled) while people are signed in."</p> }.into_any()
                            } else {
                                view! {
                                    <table class=TABLE>
                                        <thead><tr><th>"Started"</th><th>"User"</th><th>"Length"</th><th>"Chunks"</th><th>"Events"</th></tr></thead>
                                        <tbody>{rows}</tbody>
                                    </table>
                                }.into_any()
                            }}
                            {next.map(|href| view! { <p class="mt-4 text-right"><a href=href rel="next">"Next page →"</a></p> })}
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}

/// One replay, played with rrweb-player (which needs JavaScript), beside the user's events.
#[component]
pub fn ReplayPage() -> impl IntoView {
    let params = use_params_map();
    let ids = Memo::new(move |_| {
        let p = params.read();
        (
            p.get("project_id").unwrap_or_default(),
            p.get("replay_id").unwrap_or_default(),
        )
    });
    let data = Resource::new(move || ids.get(), |(id, replay)| load_replay(id, replay));
    view! {
        <Suspense fallback=|| view! { <p class="py-16 text-center text-muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let (id, _) = ids.get();
                let v = match data.await {
                    Ok(v) => v,
                    Err(e) => return view! { <DashboardError error=e/> }.into_any(),
                };
                let r = v.replay;
                view! {
                    <ProjectShell project_id=id.clone() project_name=v.project_name active="analytics">
                        <link rel="stylesheet" href="/pkg/rrweb-player.css"/>
                        <section class=PANEL aria-labelledby="replay-heading">
                            <div class="flex flex-wrap items-baseline justify-between gap-2">
                                <h1 id="replay-heading">{format!("Replay of {}", r.user)}</h1>
                                <a href=format!("/projects/{id}/analytics/replays")>"← All replays"</a>
                            </div>
                            <p class="text-sm text-muted">{format!("{} · {} · {} events in {} chunk{}", format_utc(r.started_at), duration(r.duration_ms), r.events, r.chunks, if r.chunks == 1 { "" } else { "s" })}</p>
                            <div id="replay-player" class="mt-3 overflow-x-auto" data-replay=r.id.clone()>
                                <noscript><p class="text-sm text-muted">"The player needs JavaScript: it rebuilds the recorded page in your browser."</p></noscript>
                            </div>
                            <script type="application/json" id="replay-events" inner_html=v.events_json></script>
                            <script src="/pkg/rrweb-player.js"></script>
                            <script src="/replay.js"></script>
                        </section>
                        <section class=PANEL aria-labelledby="replay-events-heading">
                            <h2 id="replay-events-heading">"The user's events"</h2>
                            <ResultTable table=v.user_events/>
                        </section>
                    </ProjectShell>
                }.into_any()
            })}
        </Suspense>
    }
}
