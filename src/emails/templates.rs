//! The built-in email templates and the themes around them, written as minijinja templates
//! (`{{ project.display_name }}`, `{{ variables.otp }}`, `{{ user.display_name }}`). HTML is
//! escaped on output; every template has a plain-text twin.

use minijinja::{context, AutoEscape, Environment};
use serde_json::Value;

use crate::config::schema::EMAIL_TEMPLATES;
use crate::error::{Error, Result};

/// A template's three parts, as sources.
#[derive(Clone, Copy, Debug)]
pub struct Template {
    pub id: &'static str,
    pub name: &'static str,
    pub subject: &'static str,
    /// The body inside the theme (HTML).
    pub html: &'static str,
    pub text: &'static str,
}

pub const EMAIL_VERIFICATION: &str = EMAIL_TEMPLATES[0].0;
pub const PASSWORD_RESET: &str = EMAIL_TEMPLATES[1].0;
pub const MAGIC_LINK: &str = EMAIL_TEMPLATES[2].0;
pub const TEAM_INVITATION: &str = EMAIL_TEMPLATES[3].0;
pub const SIGN_IN_INVITATION: &str = EMAIL_TEMPLATES[4].0;
pub const PAYMENT_RECEIPT: &str = EMAIL_TEMPLATES[5].0;
pub const PAYMENT_FAILED: &str = EMAIL_TEMPLATES[6].0;

const BUTTON: &str = "display:inline-block;padding:12px 20px;border-radius:8px;background:#1d4ed8;color:#ffffff;text-decoration:none;font-weight:600";

pub static BUILT_IN: [Template; 7] = [
    Template {
        id: EMAIL_VERIFICATION,
        name: "Email Verification",
        subject: "Verify your email at {{ project.display_name }}",
        html: r#"<h1>Verify your email</h1>
<p>Hi{% if user.display_name %} {{ user.display_name }}{% endif %}, please confirm this address for {{ project.display_name }}.</p>
<p><a href="{{ variables.emailVerificationLink }}" style="BUTTON">Verify my email</a></p>
<p>If you did not sign up, you can ignore this email.</p>"#,
        text: "Hi{% if user.display_name %} {{ user.display_name }}{% endif %},\n\nplease confirm this address for {{ project.display_name }}:\n\n{{ variables.emailVerificationLink }}\n\nIf you did not sign up, you can ignore this email.\n",
    },
    Template {
        id: PASSWORD_RESET,
        name: "Password Reset",
        subject: "Reset your password at {{ project.display_name }}",
        html: r#"<h1>Reset your password</h1>
<p>Someone asked to reset the password of your {{ project.display_name }} account.</p>
<p><a href="{{ variables.passwordResetLink }}" style="BUTTON">Choose a new password</a></p>
<p>If it was not you, ignore this email: your password stays as it is.</p>"#,
        text: "Someone asked to reset the password of your {{ project.display_name }} account. Choose a new password here:\n\n{{ variables.passwordResetLink }}\n\nIf it was not you, ignore this email: your password stays as it is.\n",
    },
    Template {
        id: MAGIC_LINK,
        name: "Magic Link/OTP",
        subject: "Sign in to {{ project.display_name }}: Your code is {{ variables.otp }}",
        html: r#"<h1>Your sign-in code</h1>
<p style="font-size:28px;font-weight:700;letter-spacing:4px">{{ variables.otp }}</p>
<p>Or sign in to {{ project.display_name }} with this link:</p>
<p><a href="{{ variables.magicLink }}" style="BUTTON">Sign in</a></p>
<p>If you did not ask to sign in, you can ignore this email.</p>"#,
        text: "Your code to sign in to {{ project.display_name }} is {{ variables.otp }}\n\nOr sign in with this link:\n\n{{ variables.magicLink }}\n\nIf you did not ask to sign in, you can ignore this email.\n",
    },
    Template {
        id: TEAM_INVITATION,
        name: "Team Invitation",
        subject: "You have been invited to join {{ variables.teamDisplayName }}",
        html: r#"<h1>Join {{ variables.teamDisplayName }}</h1>
<p>You have been invited to join {{ variables.teamDisplayName }} on {{ project.display_name }}.</p>
<p><a href="{{ variables.teamInvitationLink }}" style="BUTTON">Accept the invitation</a></p>"#,
        text: "You have been invited to join {{ variables.teamDisplayName }} on {{ project.display_name }}. Accept here:\n\n{{ variables.teamInvitationLink }}\n",
    },
    Template {
        id: SIGN_IN_INVITATION,
        name: "Sign In Invitation",
        subject: "You have been invited to sign in to {{ variables.teamDisplayName }}",
        html: r#"<h1>You are invited</h1>
<p>You are invited to sign in to {{ variables.teamDisplayName }} on {{ project.display_name }}.</p>
<p><a href="{{ variables.signInInvitationLink }}" style="BUTTON">Sign in</a></p>"#,
        text: "You are invited to sign in to {{ variables.teamDisplayName }} on {{ project.display_name }}:\n\n{{ variables.signInInvitationLink }}\n",
    },
    Template {
        id: PAYMENT_RECEIPT,
        name: "Payment Receipt",
        subject: "Your receipt from {{ project.display_name }}",
        html: r#"<h1>Thank you</h1>
<p>We received your payment of {{ variables.amount }} for {{ variables.productName }}.</p>
{% if variables.receiptLink %}<p><a href="{{ variables.receiptLink }}" style="BUTTON">View the receipt</a></p>{% endif %}"#,
        text: "We received your payment of {{ variables.amount }} for {{ variables.productName }}.\n{% if variables.receiptLink %}\nReceipt: {{ variables.receiptLink }}\n{% endif %}",
    },
    Template {
        id: PAYMENT_FAILED,
        name: "Payment Failed",
        subject: "Payment failed for {{ project.display_name }}",
        html: r#"<h1>Your payment did not go through</h1>
<p>The payment of {{ variables.amount }} for {{ variables.productName }} failed{% if variables.failureReason %}: {{ variables.failureReason }}{% endif %}.</p>
{% if variables.invoiceUrl %}<p><a href="{{ variables.invoiceUrl }}" style="BUTTON">Pay the invoice</a></p>{% endif %}"#,
        text: "The payment of {{ variables.amount }} for {{ variables.productName }} failed{% if variables.failureReason %}: {{ variables.failureReason }}{% endif %}.\n{% if variables.invoiceUrl %}\nPay the invoice: {{ variables.invoiceUrl }}\n{% endif %}",
    },
];

/// The frame every HTML email is sent in: the project's name above the body, light colours that
/// read well in mail clients, and a dark variant for the dark theme.
fn theme(theme_id: Option<&str>) -> &'static str {
    match theme_id {
        Some("a0172b5d-cff0-463b-83bb-85124697373a") => DARK,
        _ => LIGHT,
    }
}

const LIGHT: &str = r#"<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{ subject }}</title></head>
<body style="margin:0;padding:24px;background:#f4f5f7;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#111827">
<div style="max-width:560px;margin:0 auto;background:#ffffff;border-radius:12px;padding:28px">
<p style="margin:0 0 16px;color:#6b7280;font-size:14px">{{ project.display_name }}</p>
{{ body }}
{% if unsubscribe_link %}<p style="margin:24px 0 0;font-size:12px;color:#6b7280"><a href="{{ unsubscribe_link }}" style="color:#6b7280">Unsubscribe</a> from emails like this.</p>{% endif %}
</div></body></html>"#;

const DARK: &str = r#"<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>{{ subject }}</title></head>
<body style="margin:0;padding:24px;background:#0b0f19;font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;color:#e5e7eb">
<div style="max-width:560px;margin:0 auto;background:#111827;border-radius:12px;padding:28px">
<p style="margin:0 0 16px;color:#9ca3af;font-size:14px">{{ project.display_name }}</p>
{{ body }}
{% if unsubscribe_link %}<p style="margin:24px 0 0;font-size:12px;color:#9ca3af"><a href="{{ unsubscribe_link }}" style="color:#9ca3af">Unsubscribe</a> from emails like this.</p>{% endif %}
</div></body></html>"#;

pub fn built_in(id: &str) -> Option<&'static Template> {
    BUILT_IN.iter().find(|t| t.id == id)
}

/// A template's three parts as sources (see [`super::template_for`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Sources {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// An email's rendered parts.
#[derive(Clone, Debug, PartialEq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// What templates see: the project, the recipient user (if any) and the caller's variables.
pub struct Scope<'a> {
    pub project_display_name: &'a str,
    pub user_display_name: Option<&'a str>,
    pub variables: &'a Value,
    /// Shown at the foot of emails the user may turn off.
    pub unsubscribe_link: Option<&'a str>,
}

/// The theme a project's emails are drawn in (`emails.selectedThemeId`).
pub fn selected_theme(project: &crate::projects::Project) -> Option<&str> {
    project.config.tree["emails"]["selectedThemeId"].as_str()
}

/// Renders a template (subject, HTML body in the theme, text) with `scope`.
pub fn render(
    subject: &str,
    html_body: &str,
    text: &str,
    theme_id: Option<&str>,
    scope: &Scope,
) -> Result<Rendered> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|name| {
        if name.ends_with(".html") {
            AutoEscape::Html
        } else {
            AutoEscape::None
        }
    });
    let html_body = html_body.replace("style=\"BUTTON\"", &format!("style=\"{BUTTON}\""));
    for (name, source) in [
        ("subject.txt", subject),
        ("body.html", html_body.as_str()),
        ("body.txt", text),
        ("theme.html", theme(theme_id)),
    ] {
        env.add_template_owned(name.to_string(), source.to_string())
            .map_err(template_error)?;
    }
    let ctx = context! {
        project => context! { display_name => scope.project_display_name, displayName => scope.project_display_name },
        user => context! { display_name => scope.user_display_name, displayName => scope.user_display_name },
        variables => scope.variables,
    };
    let get = |name: &str| -> Result<String> {
        env.get_template(name)
            .and_then(|t| t.render(&ctx))
            .map_err(template_error)
    };
    let subject = get("subject.txt")?.trim().to_string();
    let body = get("body.html")?;
    let html = env
        .get_template("theme.html")
        .and_then(|t| {
            t.render(context! {
                subject => &subject,
                project => context! { display_name => scope.project_display_name },
                body => minijinja::Value::from_safe_string(body),
                unsubscribe_link => scope.unsubscribe_link,
            })
        })
        .map_err(template_error)?;
    let mut text = get("body.txt")?;
    if let Some(link) = scope.unsubscribe_link {
        text.push_str(&format!("\n\nUnsubscribe from emails like this: {link}\n"));
    }
    Ok(Rendered {
        subject,
        html,
        text,
    })
}

/// The project's templates in the config tree (`emails.templates.<id>`, and each translation)
/// compile; run by config on every change (see [`crate::CONFIG_CHECKS`]).
pub(crate) fn check_config(tree: &Value) -> std::result::Result<(), String> {
    let Some(Value::Object(templates)) = tree.pointer("/emails/templates") else {
        return Ok(());
    };
    for (id, t) in templates {
        let mut parts = vec![(format!("emails.templates.{id}"), t)];
        if let Some(Value::Object(tr)) = t.get("translations") {
            parts.extend(
                tr.iter()
                    .map(|(l, v)| (format!("emails.templates.{id}.translations.{l}"), v)),
            );
        }
        for (at, part) in parts {
            for name in ["subject", "html", "text"] {
                if let Some(e) = part[name].as_str().and_then(syntax_error) {
                    return Err(format!("{at}.{name} is not a valid template: {e}"));
                }
            }
        }
    }
    Ok(())
}

/// Why `source` is not a template (its line and the problem), if it is not.
pub fn syntax_error(source: &str) -> Option<String> {
    let mut env = Environment::new();
    env.add_template_owned("t".to_string(), source.to_string())
        .err()
        .map(|e| e.to_string())
}

fn template_error(e: minijinja::Error) -> Error {
    Error::Status(
        400,
        format!("The email template could not be rendered: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn templates_render_with_escaping_in_html_only() {
        let t = built_in(MAGIC_LINK).unwrap();
        let vars = json!({ "otp": "AB12CD", "magicLink": "https://app.test/m?code=1&x=<y>" });
        let r = render(
            t.subject,
            t.html,
            t.text,
            None,
            &Scope {
                project_display_name: "Acme <Labs>",
                user_display_name: None,
                variables: &vars,
                unsubscribe_link: None,
            },
        )
        .unwrap();
        assert_eq!(r.subject, "Sign in to Acme <Labs>: Your code is AB12CD");
        assert!(r.html.contains("Acme &lt;Labs&gt;"));
        assert!(r.html.contains("m?code=1&amp;x=&lt;y&gt;"), "{}", r.html);
        assert!(r.text.contains("https://app.test/m?code=1&x=<y>"));
        for t in &BUILT_IN {
            let r = render(
                t.subject,
                t.html,
                t.text,
                Some("a0172b5d-cff0-463b-83bb-85124697373a"),
                &Scope {
                    project_display_name: "P",
                    user_display_name: Some("Ada"),
                    variables: &json!({}),
                    unsubscribe_link: Some("https://u.test/x"),
                },
            )
            .unwrap();
            assert!(
                r.html.contains("https:&#x2f;&#x2f;u.test&#x2f;x")
                    && r.text.contains("https://u.test/x")
            );
        }
    }
}
