//! Pieces the pages share, so that pages stay short and look alike.

use leptos::prelude::*;

pub use crate::text::format_utc;

/// A labelled field: the label above its input (or textarea).
pub const FIELD: &str = "flex flex-col gap-1.5 text-sm font-medium [&_input]:rounded-lg [&_input]:border [&_input]:border-line [&_input]:bg-page [&_input]:px-3 [&_input]:py-2.5 [&_input]:font-normal [&_input]:text-ink [&_textarea]:rounded-lg [&_textarea]:border [&_textarea]:border-line [&_textarea]:bg-page [&_textarea]:px-3 [&_textarea]:py-2 [&_textarea]:font-normal [&_textarea]:text-ink [&_select]:rounded-lg [&_select]:border [&_select]:border-line [&_select]:bg-page [&_select]:px-3 [&_select]:py-2.5 [&_select]:font-normal [&_select]:text-ink";

/// A dashboard room's panel: a card with its headings.
pub const PANEL: &str = "panel rounded-xl border border-line bg-card px-6 py-5 [&_h1]:mb-4 [&_h1]:text-xl [&_h1]:font-bold [&_h2]:mb-3 [&_h2]:text-base [&_h2]:font-semibold";
/// A dashboard table.
pub const TABLE: &str = "w-full border-collapse text-sm [&_th]:border-b [&_th]:border-line [&_th]:p-2 [&_th]:text-left [&_th]:font-semibold [&_th]:text-muted [&_td]:border-b [&_td]:border-line [&_td]:p-2 [&_td]:[overflow-wrap:anywhere]";
/// A small secondary button, in table rows and beside fields.
pub const SMALL_BUTTON: &str = "secondary whitespace-nowrap rounded-lg border border-line px-2 py-0.5 text-xs font-semibold text-ink";

/// The centred card every hosted auth page sits in, titled with the project's name.
#[component]
pub fn AuthCard(
    #[prop(into)] title: String,
    #[prop(into)] project: String,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="flex min-h-screen items-center justify-center p-4">
            <section class="card w-full max-w-sm rounded-xl border border-line bg-card px-6 py-8 shadow-lg [&_h1]:mb-5 [&_h1]:text-2xl [&_h1]:font-bold" aria-labelledby="card-title">
                <p class="project-name mb-1 text-sm font-semibold text-muted">{project}</p>
                <h1 id="card-title">{title}</h1>
                {children()}
                <div class="mt-5"><ThemeToggle/></div>
            </section>
        </div>
    }
}

/// The colour scheme the person chose with [`ThemeToggle`] (a cookie), if any; `None` follows
/// the system. Read while rendering on the server; the browser keeps what the server rendered.
pub fn theme() -> Option<&'static str> {
    #[cfg(feature = "ssr")]
    {
        match crate::server::request_cookie("gatehouse_theme")?.as_str() {
            "dark" => Some("dark"),
            "light" => Some("light"),
            _ => None,
        }
    }
    #[cfg(not(feature = "ssr"))]
    {
        document()
            .body()
            .and_then(|b| b.get_attribute("data-theme"))
            .and_then(|t| match t.as_str() {
                "dark" => Some("dark"),
                "light" => Some("light"),
                _ => None,
            })
    }
}

/// Light, dark, or the system's choice: a plain form, so it works without JavaScript too.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let current = theme().unwrap_or("system");
    let choices = [("light", "Light"), ("dark", "Dark"), ("system", "System")];
    view! {
        <form method="post" action="/_theme" class="theme-toggle flex justify-center gap-1" aria-label="Colour scheme">
            {choices.into_iter().map(|(value, label)| view! {
                <button type="submit" name="theme" value=value aria-pressed=(value == current).to_string()
                    class="rounded-md border border-transparent px-2 py-0.5 text-xs text-muted aria-pressed:border-line aria-pressed:text-ink">{label}</button>
            }).collect_view()}
        </form>
    }
}

/// A labelled input. Its element id is `field-{name}` unless a page with several inputs of that
/// name gives each its own `id`.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into, default = "text".into())] kind: String,
    #[prop(into, default = String::new())] autocomplete: String,
    #[prop(into, optional)] value: Option<String>,
    #[prop(default = true)] required: bool,
    #[prop(into, optional)] id: Option<String>,
) -> impl IntoView {
    let id = id.unwrap_or_else(|| format!("field-{name}"));
    let label_for = id.clone();
    view! {
        <label class=crate::components::FIELD for=label_for>
            <span>{label}</span>
            <input id=id type=kind name=name autocomplete=autocomplete required=required value=value/>
        </label>
    }
}

/// A new password, checked against the rules while it is typed on pages that hydrate (the
/// dashboard's); the server checks it either way.
#[component]
pub fn NewPasswordField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    min: usize,
    max: usize,
) -> impl IntoView {
    let length = RwSignal::new(0usize);
    let id = format!("field-{name}");
    let label_for = id.clone();
    let hint = move || match length.get() {
        0 => None,
        n if n < min => Some(format!(
            "{} more character{} needed.",
            min - n,
            if min - n == 1 { "" } else { "s" }
        )),
        n if n > max => Some(format!("At most {max} characters, please ({n} now).")),
        _ => None,
    };
    view! {
        <label class=crate::components::FIELD for=label_for>
            <span>{label}</span>
            <input id=id type="password" name=name autocomplete="new-password" required data-min=min
                aria-invalid=move || hint().is_some().to_string()
                on:input=move |ev| length.set(event_target_value(&ev).chars().count())/>
            {move || hint().map(|h| view! { <span class="field-hint text-xs font-normal text-muted" aria-live="polite">{h}</span> })}
        </label>
    }
}

/// The error of an action's last run, for `FormError`.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<String>>
where
    S: leptos::server_fn::ServerFn<Error = ServerFnError> + Clone + Send + Sync + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(Result::err)
            .map(|e| crate::server::error_message(&e))
    })
}

/// The error of the last submission, if any, announced to screen readers.
#[component]
pub fn FormError(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <p class="form-error m-0 text-sm text-danger" role="alert">{m}</p> })
    }
}

/// A bar chart of counts per day (or per `step_ms`), drawn as SVG on the server: readable
/// without JavaScript, and each bar names its time and count (hover, or a screen reader's table
/// below it).
#[component]
pub fn BarChart(
    values: Vec<i64>,
    first_ms: i64,
    #[prop(into)] label: String,
    #[prop(default = 86_400_000)] step_ms: i64,
    #[prop(default = "h-32")] height: &'static str,
) -> impl IntoView {
    const BAR: i64 = 10;
    const GAP: i64 = 2;
    const HEIGHT: i64 = 100;
    let max = values.iter().copied().max().unwrap_or(0).max(1);
    let width = values.len() as i64 * (BAR + GAP);
    let day = move |i: usize| {
        let at = format_utc(first_ms + i as i64 * step_ms);
        if step_ms >= 86_400_000 {
            at[..10].to_string()
        } else {
            at
        }
    };
    let bars = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let h = if v == 0 { 1 } else { (v * (HEIGHT - 4) / max).max(3) };
            let text = format!("{}: {v}", day(i));
            view! {
                <rect x=(i as i64 * (BAR + GAP)).to_string() y=(HEIGHT - h).to_string() width=BAR.to_string() height=h.to_string()
                    rx="2" class=if v == 0 { "bar empty fill-line" } else { "bar fill-accent" } data-count=v.to_string()>
                    <title>{text}</title>
                </rect>
            }
        })
        .collect_view();
    let rows = values
        .iter()
        .enumerate()
        .filter(|(_, v)| **v > 0)
        .map(|(i, v)| {
            view! {
                <tr><td>{day(i)}</td><td>{*v}</td></tr>
            }
        })
        .collect_view();
    view! {
        <figure class="chart [&_svg]:block [&_svg]:w-full [&_figcaption]:mt-2 [&_figcaption]:text-xs [&_figcaption]:text-muted">
            <svg class=height viewBox=format!("0 0 {width} {HEIGHT}") role="img" aria-label=label.clone() preserveAspectRatio="none">{bars}</svg>
            <figcaption>{label}</figcaption>
            <table class="sr-only"><tbody>{rows}</tbody></table>
        </figure>
    }
}

/// Percent-encodes a URL query value.
pub fn encode_component(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A JSON editor: says at once, while typing, whether the text is valid JSON.
#[component]
pub fn JsonField(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    value: String,
) -> impl IntoView {
    let problem = RwSignal::new(None::<String>);
    let id = format!("field-{name}");
    let check_label = label.clone();
    let label_for = id.clone();
    view! {
        <label class=crate::components::FIELD for=label_for>
            <span>{label}" (JSON)"</span>
            <textarea id=id name=name rows="4" class="json font-mono text-xs aria-invalid:border-danger" spellcheck="false" aria-invalid=move || problem.get().is_some().to_string()
                on:input=move |ev| problem.set(crate::server::parse_metadata(&check_label, &event_target_value(&ev)).err())>{value}</textarea>
            {move || problem.get().map(|p| view! { <span class="form-error m-0 text-sm text-danger" role="alert">{p}</span> })}
        </label>
    }
}
