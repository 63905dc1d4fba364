//! One delivery attempt: the message signed for the endpoint, POSTed with a timeout and no
//! redirects, to an address that is not private unless the project or the server allows it;
//! its outcome logged. A failed attempt fails its job, which the worker retries on the
//! schedule ([`super::WebhookSettings::schedule`]); an endpoint failing without a break for
//! long enough is disabled and the project's admins get an email.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{ids, Endpoint, Message};
use crate::emails::{queue_email, NewEmail, Recipient};
use crate::error::{Error, Result};
use crate::projects::Project;
use crate::validation::invalid;
use crate::{now_ms, Core};

const TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How much of an answer the attempt log keeps.
const RESPONSE_EXCERPT: usize = 1024;

/// Which addresses a project's endpoints may reach.
#[derive(Clone, Copy, Debug)]
pub struct Allowance {
    /// Loopback (`localhost`, 127.0.0.1, ::1): the project allows localhost.
    pub loopback: bool,
    /// Every private, link-local and loopback address: the server-wide setting.
    pub private: bool,
}

impl Allowance {
    pub fn of(core: &Core, project: &Project) -> Allowance {
        let private = core.webhooks.allow_private_addresses;
        Allowance {
            loopback: private || project.config.allow_localhost,
            private,
        }
    }

    fn permits(self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        if ip.is_loopback() {
            return self.loopback;
        }
        self.private || is_public(ip)
    }
}

/// Whether an address is on the public internet: not private, link-local (cloud metadata),
/// shared (carrier-grade NAT), unspecified, multicast, broadcast or documentation.
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

fn refused(host: &str) -> Error {
    invalid(format!(
        "body.url points at {host}, a private or loopback address. Webhooks go to the public internet only, unless the project allows localhost (domains.allowLocalhost, for loopback) or the server allows private addresses (GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES=true)."
    ))
}

/// Checks an endpoint's URL as it is written: http or https, a host, and not a literal
/// address (or `localhost`) the project may not reach. Names are checked again when an
/// attempt resolves them.
pub fn check_url(url: &str, allow: Allowance) -> Result<()> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|_| invalid("body.url must be a valid URL, like https://example.com/webhooks"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("body.url must start with https:// or http://"));
    }
    match parsed.host() {
        None => Err(invalid("body.url must name a host")),
        Some(url::Host::Ipv4(ip)) if !allow.permits(ip.into()) => Err(refused(&ip.to_string())),
        Some(url::Host::Ipv6(ip)) if !allow.permits(ip.into()) => Err(refused(&ip.to_string())),
        Some(url::Host::Domain(d))
            if !allow.loopback && (d == "localhost" || d.ends_with(".localhost")) =>
        {
            Err(refused(d))
        }
        Some(_) => Ok(()),
    }
}

/// What one attempt came to.
struct Outcome {
    status_code: i64,
    response: String,
    success: bool,
}

impl Core {
    /// Runs one delivery job (`{message_id, endpoint_id, trigger}`): an `Err` asks the worker
    /// to try again on the schedule. A deleted or disabled endpoint, or a deleted message,
    /// ends the job quietly.
    pub async fn run_webhook_delivery(
        &self,
        project_id: &str,
        payload: &Value,
    ) -> std::result::Result<(), String> {
        let field = |k: &str| payload[k].as_str().unwrap_or_default().to_string();
        let (message_id, endpoint_id) = (field("message_id"), field("endpoint_id"));
        let trigger = if field("trigger") == "manual" {
            "manual"
        } else {
            "scheduled"
        };
        // Gone (deleted since) is not an error; a database that cannot answer is, and the job
        // is tried again.
        fn gone<T>(r: Result<T>) -> Result<Option<T>> {
            match r {
                Ok(v) => Ok(Some(v)),
                Err(Error::Status(404, _)) => Ok(None),
                Err(e) => Err(e),
            }
        }
        let found = async {
            let project = self.project_cached(project_id).await?;
            let endpoint = gone(self.webhook_endpoint(project_id, &endpoint_id).await)?;
            let message = gone(self.webhook_message(project_id, &message_id).await)?;
            Ok::<_, Error>((project, endpoint, message))
        };
        let (Some(project), Some(endpoint), Some(message)) =
            found.await.map_err(|e| e.to_string())?
        else {
            return Ok(());
        };
        if endpoint.disabled && trigger == "scheduled" {
            return Ok(());
        }
        let started = Instant::now();
        let outcome = self.attempt(&project, &endpoint, &message).await;
        let took = started.elapsed().as_millis() as i64;
        self.log_attempt(&project, &endpoint, &message, &outcome, took, trigger)
            .await
            .map_err(|e| e.to_string())?;
        if outcome.success {
            Ok(())
        } else {
            Err(format!(
                "the endpoint answered: {}",
                outcome.response.chars().take(200).collect::<String>()
            ))
        }
    }

    async fn attempt(&self, project: &Project, endpoint: &Endpoint, message: &Message) -> Outcome {
        let fail = |response: String| Outcome {
            status_code: 0,
            response,
            success: false,
        };
        let secrets = match self.webhook_secrets(&project.id, &endpoint.id).await {
            Ok(s) => s,
            Err(e) => return fail(e.to_string()),
        };
        let client = match self.webhook_client(project, &endpoint.url) {
            Ok(c) => c,
            Err(e) => return fail(e),
        };
        let body = message.payload.to_string();
        let timestamp = now_ms() / 1000;
        let signature = ids::signature(&secrets, &message.id, timestamp, &body);
        let sent = client
            .post(&endpoint.url)
            .header("content-type", "application/json")
            .header("user-agent", "Gatehouse-Webhooks/1.0")
            .header("webhook-id", &message.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", &signature)
            .header("svix-id", &message.id)
            .header("svix-timestamp", timestamp.to_string())
            .header("svix-signature", &signature)
            .body(body)
            .send()
            .await;
        match sent {
            Err(e) if e.is_timeout() => {
                fail(format!("no answer within {} seconds", TIMEOUT.as_secs()))
            }
            Err(e) => fail(format!("could not connect: {}", with_causes(&e))),
            Ok(mut res) => {
                let status = res.status();
                let mut excerpt = Vec::new();
                while let Ok(Some(chunk)) = res.chunk().await {
                    excerpt.extend_from_slice(&chunk);
                    if excerpt.len() >= RESPONSE_EXCERPT {
                        break;
                    }
                }
                excerpt.truncate(RESPONSE_EXCERPT);
                Outcome {
                    status_code: i64::from(status.as_u16()),
                    response: String::from_utf8_lossy(&excerpt).into_owned(),
                    success: status.is_success(),
                }
            }
        }
    }

    /// The client for an endpoint's URL, once the URL passes [`check_url`].
    fn webhook_client(
        &self,
        project: &Project,
        url: &str,
    ) -> std::result::Result<reqwest::Client, String> {
        let allow = Allowance::of(self, project);
        check_url(url, allow).map_err(|e| e.message())?;
        Ok(self.webhook_clients.get(allow))
    }

    /// Logs an attempt and keeps the endpoint's run of failures: a success ends it; a failure
    /// that extends it past the limit disables the endpoint and mails the project's admins,
    /// in the same transaction.
    async fn log_attempt(
        &self,
        project: &Project,
        endpoint: &Endpoint,
        message: &Message,
        outcome: &Outcome,
        took: i64,
        trigger: &str,
    ) -> Result<()> {
        let now = now_ms();
        let mut tx = self.begin().await?;
        sqlx::query(
            "INSERT INTO webhook_attempts (id, project_id, message_id, endpoint_id, url, status, response_status_code, \
             response, duration_ms, trigger_type, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(super::svix_id("atmpt"))
        .bind(&project.id)
        .bind(&message.id)
        .bind(&endpoint.id)
        .bind(&endpoint.url)
        .bind(if outcome.success { "success" } else { "fail" })
        .bind(outcome.status_code)
        .bind(&outcome.response)
        .bind(took)
        .bind(trigger)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if outcome.success {
            sqlx::query("UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $1")
                .bind(&endpoint.id)
                .execute(&mut *tx)
                .await?;
        } else {
            sqlx::query("UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, $2) WHERE id = $1")
                .bind(&endpoint.id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            let disabled = sqlx::query(
                "UPDATE webhook_endpoints SET disabled = 1, updated_at = $2 WHERE id = $1 AND disabled = 0 AND failing_since <= $3",
            )
            .bind(&endpoint.id)
            .bind(now)
            .bind(now - self.webhooks.disable_after())
            .execute(&mut *tx)
            .await?;
            if disabled.rows_affected() > 0 {
                tracing::warn!(endpoint = %endpoint.id, url = %endpoint.url, "a webhook endpoint kept failing and was disabled");
                let who = crate::events::Who::System;
                super::record_endpoint(
                    &mut tx,
                    &project.id,
                    &who,
                    "webhook_endpoint.disabled",
                    &endpoint.id,
                )
                .await?;
                self.mail_admins_endpoint_disabled(&mut tx, project, endpoint)
                    .await?;
            }
        }
        tx.commit().await?;
        self.jobs_written();
        Ok(())
    }

    async fn mail_admins_endpoint_disabled(
        &self,
        tx: &mut crate::events::Tx,
        project: &Project,
        endpoint: &Endpoint,
    ) -> Result<()> {
        let Ok(admins) = self.project_admins(project).await else {
            return Ok(()); // A project made from the command line has no admins to tell.
        };
        let internal = self.internal_project().await?;
        let room = format!("{}/projects/{}/webhooks", self.public_url, project.id);
        let html = format!(
            "<p>Every delivery to the webhook endpoint <b>{url}</b> of the project <b>{name}</b> has failed for a while, so Gatehouse has disabled it and will send it nothing more until it is enabled again.</p>\
             <p>The attempts and the endpoint's answers are in the dashboard: <a href=\"{room}\">{room}</a></p>",
            url = crate::html_escape(&endpoint.url),
            name = crate::html_escape(&project.display_name),
        );
        for admin in admins.members {
            let to = Recipient::UserPrimaryEmail {
                user_id: admin.user.id.clone(),
            };
            let subject = format!("Webhook endpoint disabled in {}", project.display_name);
            let email = NewEmail::notice(to, subject, html.clone());
            queue_email(tx, &self.public_url, &internal, email).await?;
        }
        Ok(())
    }
}

/// An error and what caused it, down to the root (`reqwest` shows only the top).
fn with_causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The HTTP clients webhooks go out with, one per [`Allowance`], made once: no redirects,
/// timeouts, and names resolved by [`CheckedResolver`].
#[derive(Default)]
pub struct Clients(std::sync::OnceLock<[reqwest::Client; 3]>);

impl Clients {
    fn get(&self, allow: Allowance) -> reqwest::Client {
        const KINDS: [Allowance; 3] = [
            Allowance {
                loopback: false,
                private: false,
            },
            Allowance {
                loopback: true,
                private: false,
            },
            Allowance {
                loopback: true,
                private: true,
            },
        ];
        let all = self.0.get_or_init(|| {
            KINDS.map(|allow| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(TIMEOUT)
                    .connect_timeout(CONNECT_TIMEOUT)
                    .dns_resolver(std::sync::Arc::new(CheckedResolver(allow)))
                    .build()
                    .expect("the webhook HTTP client builds")
            })
        });
        all[usize::from(allow.loopback) + usize::from(allow.private)].clone()
    }
}

/// Resolves an endpoint's name and refuses it when any of its addresses is one the allowance
/// does not permit. The connection goes to the addresses checked here: there is no second
/// lookup a name could answer differently (DNS rebinding).
struct CheckedResolver(Allowance);

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.0;
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(bad) = addrs.iter().find(|a| !allow.permits(a.ip())) {
                let why = format!(
                    "refused: {host} resolves to {}, a private or loopback address",
                    bad.ip()
                );
                return Err(why.into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: Allowance = Allowance {
        loopback: false,
        private: false,
    };

    #[test]
    fn private_and_loopback_addresses_are_refused_unless_allowed() {
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://10.1.2.3/hook",
            "http://192.168.0.10/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/hook",
            "http://[fd00::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
            "http://100.64.0.1/hook",
            "http://0.0.0.0/hook",
        ] {
            assert!(check_url(url, STRICT).is_err(), "{url}");
        }
        assert!(check_url("https://hooks.example.com/x", STRICT).is_ok());
        assert!(check_url("https://93.184.216.34/x", STRICT).is_ok());
        assert!(check_url("ftp://example.com/x", STRICT).is_err());
        assert!(check_url("not a url", STRICT).is_err());
        let loopback = Allowance {
            loopback: true,
            private: false,
        };
        assert!(check_url("http://127.0.0.1:8080/hook", loopback).is_ok());
        assert!(check_url("http://localhost:8080/hook", loopback).is_ok());
        assert!(check_url("http://10.1.2.3/hook", loopback).is_err());
        let all = Allowance {
            loopback: true,
            private: true,
        };
        assert!(check_url("http://10.1.2.3/hook", all).is_ok());
    }
}
