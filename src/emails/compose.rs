//! What an email says and to whom: the recipient's addresses, name and language, and the
//! template (the project's edits, a translation, or the built-in text) rendered for them.

use serde_json::{json, Value};

use super::{templates, Content, NewEmail, Recipient};
use crate::error::{Error, Result};
use crate::events::Tx;
use crate::projects::Project;

/// Who an email reaches: the addresses, and the user's name and language (for the template).
pub(super) struct Reader {
    pub(super) addresses: Vec<String>,
    name: Option<String>,
    language: Option<String>,
}

pub(super) async fn resolve(tx: &mut Tx, project: &Project, to: &Recipient) -> Result<Reader> {
    let Some(user_id) = to.user_id() else {
        let addresses = match to {
            Recipient::CustomEmails { emails } => emails.clone(),
            _ => vec![],
        };
        return Ok(Reader {
            addresses,
            name: None,
            language: None,
        });
    };
    let row: Option<(Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
        "SELECT primary_email, display_name, language FROM users WHERE project_id = $1 AND id = $2",
    )
    .bind(&project.id)
    .bind(user_id)
    .fetch_optional(&mut **tx)
    .await?;
    let (primary, name, language) = row.ok_or_else(|| Error::UserIdDoesNotExist(user_id.into()))?;
    let addresses = match to {
        Recipient::UserCustomEmails { emails, .. } => emails.clone(),
        _ => primary.into_iter().collect(),
    };
    Ok(Reader {
        addresses,
        name,
        language,
    })
}

pub(super) fn render_content(
    project: &Project,
    new: &NewEmail,
    reader: &Reader,
) -> Result<(Option<String>, String, templates::Rendered, Value)> {
    // HTML given as is is taken literally (a `{{` in it is text, not a variable).
    let literal = |s: &str| format!("{{% raw %}}{}{{% endraw %}}", s.replace("{% endraw %}", ""));
    let (template_id, subject, html, text, variables) = match &new.content {
        Content::Template { id, variables } => {
            let t = template_for(project, id, reader.language.as_deref())?;
            let subject = new.subject.clone().unwrap_or(t.subject);
            let text = if t.text.is_empty() {
                html_to_text(&t.html)
            } else {
                t.text
            };
            (Some(id.clone()), subject, t.html, text, variables.clone())
        }
        Content::Html { html } => (
            None,
            literal(new.subject.as_deref().unwrap_or_default()),
            literal(html),
            literal(&html_to_text(html)),
            json!({}),
        ),
    };
    // The project's selected theme unless the email names one.
    let theme = new
        .theme_id
        .clone()
        .or_else(|| templates::selected_theme(project).map(str::to_string));
    let rendered = templates::render(
        &subject,
        &html,
        &text,
        theme.as_deref(),
        &templates::Scope {
            project_display_name: &project.display_name,
            user_display_name: reader.name.as_deref(),
            variables: &variables,
            unsubscribe_link: new.unsubscribe_link.as_deref(),
        },
    )?;
    let source = match &new.content {
        Content::Html { html } => html.clone(),
        Content::Template { .. } => html,
    };
    Ok((template_id, source, rendered, variables))
}

/// A template's sources: the project's own edits (in its config, `emails.templates.<id>`),
/// in the reader's language where a translation has the part, else the built-in text.
pub fn template_for(
    project: &Project,
    id: &str,
    language: Option<&str>,
) -> Result<templates::Sources> {
    let entry = &project.config.tree["emails"]["templates"][id];
    let built_in = templates::built_in(id);
    if entry.is_null() && built_in.is_none() {
        return Err(Error::Status(
            400,
            "No template found with given template_id".into(),
        ));
    }
    let translation = language.and_then(|l| {
        let t = &entry["translations"];
        // `pt-BR` reads `pt-BR`, else `pt`.
        t.get(l).or_else(|| t.get(l.split('-').next()?))
    });
    let part = |name: &str, fallback: Option<&str>| -> Option<String> {
        translation
            .and_then(|t| t[name].as_str())
            .or_else(|| entry[name].as_str())
            .or(fallback)
            .map(str::to_string)
    };
    let html = part("html", built_in.map(|t| t.html)).ok_or_else(|| {
        Error::Status(
            400,
            format!("The template {id} has no HTML body yet (emails.templates.{id}.html)."),
        )
    })?;
    // A text body belongs with its HTML: HTML written without one gets a text made from it.
    let text = [translation, Some(entry)]
        .into_iter()
        .flatten()
        .find_map(
            |level| match (level["text"].as_str(), level["html"].as_str()) {
                (Some(t), _) => Some(t.to_string()),
                (None, Some(_)) => Some(String::new()),
                _ => None,
            },
        )
        .or_else(|| built_in.map(|t| t.text.to_string()))
        .unwrap_or_default();
    Ok(templates::Sources {
        subject: part("subject", built_in.map(|t| t.subject)).unwrap_or_default(),
        text,
        html,
    })
}

/// A plain-text fallback for HTML given as is: tags dropped, links kept beside their text.
fn html_to_text(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(start) = rest.find('<') {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start + 1..start + end];
        if let Some(href) = tag
            .split("href=\"")
            .nth(1)
            .and_then(|h| h.split('"').next())
        {
            out.push_str(&format!("[{href}] "));
        }
        if tag.starts_with("p")
            || tag.starts_with("br")
            || tag.starts_with("/p")
            || tag.starts_with("/h")
        {
            out.push('\n');
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out.trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_given_as_is_gets_a_text_version_with_its_links() {
        assert_eq!(
            html_to_text("<p>Hello <b>you</b></p><p><a href=\"https://a.test/x\">go</a></p>"),
            "Hello you\n\n[https://a.test/x] go"
        );
    }
}
