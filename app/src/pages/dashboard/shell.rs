use leptos::prelude::*;

/// The frame of a project's dashboard pages: the project's name and the navigation between its
/// areas.
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
        ("teams", "Teams"),
        ("permissions", "Permissions"),
        ("auth-methods", "Auth methods"),
        ("sign-up-rules", "Sign-up rules"),
        ("settings", "Settings"),
        ("emails", "Emails"),
        ("webhooks", "Webhooks"),
        ("payments", "Payments"),
        ("analytics", "Analytics"),
        ("audit", "Audit log"),
        ("config", "Configuration"),
    ];
    view! {
        <div class="min-h-screen">
            <header class="flex flex-wrap items-center justify-between gap-2 border-b border-line bg-card px-4 py-3 sm:px-6">
                <a href="/" class="font-bold text-ink no-underline">"Gatehouse"</a>
                <span class="flex flex-wrap items-center gap-2 sm:gap-4"><span class="text-sm text-muted">{project_name}</span><crate::components::ThemeToggle/></span>
            </header>
            <div class="flex flex-col md:flex-row md:items-start">
                <nav class="w-full shrink-0 px-3 pt-6 md:w-48 md:py-6 [&_ul]:flex [&_ul]:flex-row [&_ul]:flex-wrap [&_ul]:gap-0.5 md:[&_ul]:flex-col" aria-label="Project">
                    <ul>
                        {built.into_iter().map(|(area, label)| {
                            let current = (area == active).then_some("page");
                            let look = if current.is_some() {
                                "block rounded-md border border-line bg-card px-3 py-1.5 text-sm font-semibold text-ink no-underline"
                            } else {
                                "block rounded-md border border-transparent px-3 py-1.5 text-sm text-ink no-underline"
                            };
                            view! {
                                <li>
                                    <a href=format!("/projects/{project_id}/{area}") aria-current=current class=look>{label}</a></li> }
                        }).collect_view()}
                    </ul>
                </nav>
                <main class="mx-auto flex w-full max-w-5xl min-w-0 flex-1 flex-col gap-5 px-4 py-6">{children()}</main>
            </div>
        </div>
    }
}
