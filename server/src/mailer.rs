//! Sends the outbox's emails: the `email.send` job. Each email goes to the project's own SMTP
//! server, else the server-wide one, else into the dev inbox (kept for the dashboard). A failed
//! send is recorded on the email and retried by the job queue's backoff; after the last try the
//! email is marked `server-error`.

use std::time::Duration;

use gatehouse_core::emails::{Email, SmtpServer};
use gatehouse_core::jobs::Job;
use gatehouse_core::Core;
use lettre::message::{header::ContentType, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

pub async fn send_job(core: Core, job: Job) -> Result<(), String> {
    let id = job.payload["email_id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let email = match core.take_email_for_sending(&id).await {
        Ok(Some(email)) => email,
        // Paused, cancelled, sent already, or moved later (a newer job sends it then).
        Ok(None) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    if let (Some(user_id), Some(category)) = (
        email.to.user_id(),
        email.notification_category_id.as_deref(),
    ) {
        match core
            .wants_emails(&email.project_id, user_id, category)
            .await
        {
            Ok(true) => {}
            Ok(false) => {
                return core
                    .email_skipped(&id, "USER_UNSUBSCRIBED")
                    .await
                    .map_err(|e| e.to_string())
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    if email.to_addresses.is_empty() {
        return core
            .email_skipped(&id, "USER_HAS_NO_PRIMARY_EMAIL")
            .await
            .map_err(|e| e.to_string());
    }
    let project = match core.project(&email.project_id).await {
        Ok(Some(p)) => p,
        Ok(None) => return Ok(()),
        Err(e) => return Err(e.to_string()),
    };
    let Some(server) = core.smtp_server_for(&project) else {
        return core
            .email_delivered(&id, "inbox")
            .await
            .map_err(|e| e.to_string());
    };
    match send(&server, &email).await {
        Ok(()) => core
            .email_delivered(&id, "smtp")
            .await
            .map_err(|e| e.to_string()),
        Err(error) => {
            let last = job.attempts >= job.max_attempts;
            if let Err(e) = core
                .email_send_failed(&email, job.attempts, &error, last)
                .await
            {
                tracing::warn!(email = %id, error = %e, "a failed send could not be recorded");
            }
            Err(error)
        }
    }
}

/// One email over SMTP: TLS from the start on port 465 (or `smtps://`), otherwise STARTTLS when
/// the server offers it.
pub async fn send(server: &SmtpServer, email: &Email) -> Result<(), String> {
    let from_address = server.sender_email.parse().map_err(|e| {
        format!(
            "the sender address {:?} is not valid: {e}",
            server.sender_email
        )
    })?;
    let mut message = Message::builder()
        .from(Mailbox::new(Some(server.sender_name.clone()), from_address))
        .subject(&email.subject);
    for to in &email.to_addresses {
        let mailbox: Mailbox = to
            .parse()
            .map_err(|e| format!("the recipient address {to:?} is not valid: {e}"))?;
        message = message.to(mailbox);
    }
    let message = message
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(email.text.clone()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(email.html.clone()),
                ),
        )
        .map_err(|e| format!("the email could not be composed: {e}"))?;
    let tls = TlsParameters::new(server.host.clone()).map_err(|e| e.to_string())?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&server.host)
        .port(server.port)
        .timeout(Some(Duration::from_secs(30)))
        .tls(if server.implicit_tls {
            Tls::Wrapper(tls)
        } else {
            Tls::Opportunistic(tls)
        });
    if let (Some(user), Some(pass)) = (&server.username, &server.password) {
        transport = transport.credentials(Credentials::new(user.clone(), pass.clone()));
    }
    transport
        .build()
        .send(message)
        .await
        .map(|_| ())
        .map_err(|e| format!("SMTP {}:{}: {e}", server.host, server.port))
}
