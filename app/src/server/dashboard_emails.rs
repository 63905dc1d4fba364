//! The dashboard's server functions for a project's emails: the outbox (or dev inbox), one
//! email, and the template editor with its preview.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[cfg(feature = "ssr")]
use super::ssr;

/// A project's emails as the dashboard lists them: the outbox, and the dev inbox when no SMTP
/// server is configured.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ProjectEmails {
    pub id: String,
    pub display_name: String,
    /// Where emails go now: "the project's SMTP server", "the server's SMTP server", or `None`
    /// for the dev inbox.
    pub delivery: Option<String>,
    pub emails: Vec<EmailRow>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EmailRow {
    pub id: String,
    pub to: String,
    pub subject: String,
    pub status: String,
    pub created_at: i64,
}

/// One email, whole.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EmailDetail {
    pub project_id: String,
    pub project_name: String,
    pub row: EmailRow,
    pub delivered_via: Option<String>,
    pub html: String,
    pub text: String,
    /// The links in it, to follow from the dashboard (a verification or sign-in link).
    pub links: Vec<String>,
    /// Each failed attempt: when, and the SMTP server's answer.
    pub errors: Vec<(String, String)>,
}

#[cfg(feature = "ssr")]
fn email_row(e: &gatehouse_core::emails::Email) -> EmailRow {
    EmailRow {
        id: e.id.clone(),
        to: e.to_addresses.join(", "),
        subject: e.subject.clone(),
        status: e.status.clone(),
        created_at: e.created_at,
    }
}

#[server(prefix = "/_sfn")]
pub async fn load_project_emails(project_id: String) -> Result<ProjectEmails, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let core = ssr::core();
    let (emails, _) = core
        .outbox(
            &project.id,
            &gatehouse_core::emails::OutboxQuery {
                limit: 100,
                ..Default::default()
            },
        )
        .await
        .map_err(ssr::shown)?;
    let delivery = if gatehouse_core::emails::SmtpServer::of_project(&project).is_some() {
        Some("the project's SMTP server".to_string())
    } else if core.smtp.is_some() {
        Some("the server's SMTP server".to_string())
    } else {
        None
    };
    Ok(ProjectEmails {
        id: project.id.clone(),
        display_name: project.display_name.clone(),
        delivery,
        emails: emails.iter().map(email_row).collect(),
    })
}

#[server(prefix = "/_sfn")]
pub async fn load_email(
    project_id: String,
    email_id: String,
) -> Result<EmailDetail, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let email = ssr::core()
        .email(&project.id, &email_id)
        .await
        .map_err(ssr::shown)?
        .ok_or_else(|| ServerFnError::new("This email does not exist (any more)."))?;
    let links = email
        .text
        .split_whitespace()
        .filter(|w| w.starts_with("https://") || w.starts_with("http://"))
        .map(|w| {
            w.trim_matches(|c: char| matches!(c, '[' | ']' | '(' | ')' | '<' | '>' | ',' | '.'))
                .to_string()
        })
        .collect();
    let errors = email
        .send_attempt_errors
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| {
            (
                e["timestamp"].as_str().unwrap_or_default().to_string(),
                e["internal_message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    Ok(EmailDetail {
        project_id: project.id.clone(),
        project_name: project.display_name.clone(),
        row: email_row(&email),
        delivered_via: email.delivered_via.clone(),
        html: email.html.clone(),
        text: email.text.clone(),
        links,
        errors,
    })
}

/// The project's email templates, for the Emails room.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TemplateRow {
    pub id: String,
    pub name: String,
    /// Changed from the built-in text.
    pub edited: bool,
    /// Languages it has a translation in.
    pub languages: Vec<String>,
}

#[server(prefix = "/_sfn")]
pub async fn load_email_templates(project_id: String) -> Result<Vec<TemplateRow>, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let templates = project.config.tree["emails"]["templates"]
        .as_object()
        .cloned()
        .unwrap_or_default();
    Ok(templates
        .into_iter()
        .map(|(id, t)| TemplateRow {
            name: t["displayName"]
                .as_str()
                .unwrap_or("Unnamed Template")
                .to_string(),
            edited: ["subject", "html", "text"]
                .iter()
                .any(|p| t[*p].is_string()),
            languages: t["translations"]
                .as_object()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default(),
            id,
        })
        .collect())
}

/// One template as the editor shows it, in the default texts or a language.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TemplateEditor {
    pub project_id: String,
    pub project_name: String,
    pub id: String,
    pub name: String,
    /// Empty: the default texts.
    pub language: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// The template as it renders now.
    pub preview: TemplatePreview,
}

#[server(prefix = "/_sfn")]
pub async fn load_email_template(
    project_id: String,
    template_id: String,
    language: String,
) -> Result<TemplateEditor, ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let language = language.trim().to_string();
    let sources = gatehouse_core::emails::template_for(
        &project,
        &template_id,
        (!language.is_empty()).then_some(language.as_str()),
    )
    .map_err(ssr::shown)?;
    let name = project.config.tree["emails"]["templates"][&template_id]["displayName"]
        .as_str()
        .unwrap_or("Template")
        .to_string();
    let preview = preview_email_template(
        project.id.clone(),
        sources.subject.clone(),
        sources.html.clone(),
        sources.text.clone(),
    )
    .await?;
    Ok(TemplateEditor {
        project_id: project.id.clone(),
        project_name: project.display_name.clone(),
        id: template_id,
        name,
        language,
        subject: sources.subject,
        html: sources.html,
        text: sources.text,
        preview,
    })
}

/// A template rendered with example values, as it would look in the project's theme.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct TemplatePreview {
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Why it cannot be rendered, if it cannot.
    pub error: Option<String>,
}

#[server(prefix = "/_sfn")]
pub async fn preview_email_template(
    project_id: String,
    subject: String,
    html: String,
    text: String,
) -> Result<TemplatePreview, ServerFnError> {
    use gatehouse_core::emails::templates;
    let project = ssr::administered_project(&project_id).await?;
    let example = "https://app.example.com/handler/link?code=example";
    let variables = serde_json::json!({
        "otp": "K4Q9ZT", "magicLink": example, "emailVerificationLink": example, "passwordResetLink": example,
        "teamDisplayName": "Acme Team", "teamInvitationLink": example, "signInInvitationLink": example,
        "productName": "Pro plan", "amount": "$9.00", "receiptLink": example, "invoiceUrl": example,
        "failureReason": "the card was declined",
    });
    let rendered = templates::render(
        &subject,
        &html,
        &text,
        templates::selected_theme(&project),
        &templates::Scope {
            project_display_name: &project.display_name,
            user_display_name: Some("Ada Lovelace"),
            variables: &variables,
            unsubscribe_link: None,
        },
    );
    Ok(match rendered {
        Ok(r) => TemplatePreview {
            subject: r.subject,
            html: r.html,
            text: r.text,
            error: None,
        },
        Err(e) => TemplatePreview {
            subject: String::new(),
            html: String::new(),
            text: String::new(),
            error: Some(e.message()),
        },
    })
}

/// Saves a template's texts: the default ones, or a language's (`language` a tag like `de`).
#[server(prefix = "/_sfn")]
pub async fn save_email_template(
    project_id: String,
    template_id: String,
    language: String,
    subject: String,
    html: String,
    text: String,
) -> Result<(), ServerFnError> {
    let project = ssr::administered_project(&project_id).await?;
    let language = language.trim().to_string();
    let parts = serde_json::json!({ "subject": subject, "html": html, "text": text });
    let key = if language.is_empty() {
        format!("emails.templates.{template_id}")
    } else {
        format!("emails.templates.{template_id}.translations.{language}")
    };
    let over = if language.is_empty() {
        // Into the existing entry, keeping its name and translations.
        serde_json::json!({
            format!("{key}.subject"): subject,
            format!("{key}.html"): html,
            format!("{key}.text"): text,
        })
    } else {
        serde_json::json!({ key: parts })
    };
    ssr::configure(&project, over).await?;
    let lang = if language.is_empty() {
        String::new()
    } else {
        format!("?language={language}&saved=1")
    };
    leptos_axum::redirect(&format!(
        "/projects/{project_id}/emails/templates/{template_id}{}",
        if lang.is_empty() {
            "?saved=1".to_string()
        } else {
            lang
        }
    ));
    Ok(())
}
