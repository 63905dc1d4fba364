use leptos::prelude::*;

/// The frame of a project's dashboard pages: the project's name and the navigation between its
/// areas. Areas still to be built are listed, so the navigation keeps its shape as they arrive.
#[component]
pub fn ProjectShell(
    #[prop(into)] project_id: String,
    #[prop(into)] project_name: String,
    active: &'static str,
    children: Children,
) -> impl IntoView {
    let built = [
        ("overview", "Overview"),
        ("users", "Users"),
        ("settings", "Settings"),
    ];
    let coming = [
        "Teams",
        "Permissions",
        "API keys",
        "Webhooks",
        "Emails",
        "Sign-up rules",
        "Payments",
        "Analytics",
    ];
    view! {
        <div class="dashboard">
            <header class="topbar">
                <a href="/" class="brand">"Gatehouse"</a>
                <span class="topbar-right"><span class="muted">{project_name}</span><crate::components::ThemeToggle/></span>
            </header>
            <div class="with-nav">
                <nav class="side-nav" aria-label="Project">
                    <ul>
                        {built.into_iter().map(|(area, label)| {
                            let current = (area == active).then_some("page");
                            view! { <li><a href=format!("/projects/{project_id}/{area}") aria-current=current>{label}</a></li> }
                        }).collect_view()}
                        {coming.into_iter().map(|label| view! {
                            <li><span class="soon" title="Not built yet">{label}</span></li>
                        }).collect_view()}
                    </ul>
                </nav>
                <main class="content">{children()}</main>
            </div>
        </div>
    }
}
