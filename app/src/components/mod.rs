//! Pieces the pages share, so that pages stay short and look alike.

use leptos::prelude::*;

/// The centred card every hosted auth page sits in, titled with the project's name.
#[component]
pub fn AuthCard(
    #[prop(into)] title: String,
    #[prop(into)] project: String,
    children: Children,
) -> impl IntoView {
    view! {
        <div class="auth-page">
            <section class="card" aria-labelledby="card-title">
                <p class="project-name">{project}</p>
                <h1 id="card-title">{title}</h1>
                {children()}
            </section>
        </div>
    }
}

/// A labelled input.
#[component]
pub fn Field(
    #[prop(into)] label: String,
    #[prop(into)] name: String,
    #[prop(into, default = "text".into())] kind: String,
    #[prop(into, default = String::new())] autocomplete: String,
    #[prop(into, optional)] value: Option<String>,
    #[prop(default = true)] required: bool,
) -> impl IntoView {
    let id = format!("field-{name}");
    let label_for = id.clone();
    view! {
        <label class="field" for=label_for>
            <span>{label}</span>
            <input id=id type=kind name=name autocomplete=autocomplete required=required value=value/>
        </label>
    }
}

/// The error of the last submission, if any, announced to screen readers.
#[component]
pub fn FormError(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    move || {
        message
            .get()
            .map(|m| view! { <p class="form-error" role="alert">{m}</p> })
    }
}
