//! Typed settings, read from the environment once at start-up (every variable is in the README).

use std::net::SocketAddr;
use std::path::PathBuf;

use gatehouse_core::emails::SmtpServer;
use gatehouse_core::oauth::SharedKeys;
use gatehouse_core::projects::SeedKeys;
use gatehouse_core::setup::InternalSeed;
use gatehouse_core::webhooks::WebhookSettings;

#[derive(Clone, Debug)]
pub struct Config {
    pub addr: SocketAddr,
    pub database_url: String,
    pub data_dir: PathBuf,
    /// `GATEHOUSE_REPLAY_STORAGE=directory`: session replays kept under the data dir
    /// (`session-replays/`) instead of in the database.
    pub replay_dir: Option<PathBuf>,
    /// The server secret; `None` means: load it from the data dir, or make one there.
    pub secret: Option<String>,
    /// The base URL in token issuers and links; `None` means `http://<addr>`.
    pub public_url: Option<String>,
    pub seed_keys: Option<SeedKeys>,
    pub internal_seed: InternalSeed,
    /// The server-wide SMTP server; `None`: the dev inbox.
    pub smtp: Option<SmtpServer>,
    /// `GATEHOUSE_COUNTRY_HEADER`: the header a trusted proxy puts the visitor's country in.
    pub country_header: Option<String>,
    pub stripe: gatehouse_core::payments::stripe::StripeUrls,
    /// Stack's `STACK_<PROVIDER>_CLIENT_ID` / `_SECRET` and `STACK_OAUTH_MOCK_URL`.
    pub oauth: SharedKeys,
    /// `GATEHOUSE_WEBHOOK_RETRY_SCHEDULE`, `GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES`,
    /// `GATEHOUSE_WEBHOOK_DISABLE_AFTER_SECONDS`.
    pub webhooks: WebhookSettings,
    /// `GATEHOUSE_TRUSTED_PROXIES`: the proxies whose `Forwarded` / `X-Forwarded-For` name the
    /// visitor's address.
    pub trusted_proxies: crate::client_ip::TrustedProxies,
    /// `GATEHOUSE_RATE_LIMITS=off`: attempts are not counted against limits (load tests).
    pub rate_limits_off: bool,
    /// `GATEHOUSE_TURNSTILE_SITEVERIFY_URL`: where Turnstile tokens are checked.
    pub turnstile_siteverify_url: Option<String>,
    /// `GATEHOUSE_METRICS_TOKEN`: the bearer token `/metrics` asks for; `None`: it is open.
    pub metrics_token: Option<String>,
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

impl Config {
    pub fn from_env() -> anyhow::Result<Config> {
        let data_dir = PathBuf::from(var("GATEHOUSE_DATA_DIR").unwrap_or_else(|| "./data".into()));
        // LEPTOS_SITE_ADDR is what `cargo leptos watch` sets.
        let addr = var("GATEHOUSE_ADDR")
            .or_else(|| var("LEPTOS_SITE_ADDR"))
            .unwrap_or_else(|| "127.0.0.1:8102".into());
        let addr = addr.parse().map_err(|e| {
            anyhow::anyhow!("GATEHOUSE_ADDR={addr:?} is not an address like 127.0.0.1:8102: {e}")
        })?;
        let database_url = var("DATABASE_URL")
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("gatehouse.db").display()));
        let seed_keys = match (
            var("STACK_SEED_INTERNAL_PROJECT_PUBLISHABLE_CLIENT_KEY"),
            var("STACK_SEED_INTERNAL_PROJECT_SECRET_SERVER_KEY"),
            var("STACK_SEED_INTERNAL_PROJECT_SUPER_SECRET_ADMIN_KEY"),
        ) {
            (Some(p), Some(s), Some(a)) => Some(SeedKeys {
                publishable_client_key: p,
                secret_server_key: s,
                super_secret_admin_key: a,
            }),
            (None, None, None) => None,
            _ => anyhow::bail!("set all three STACK_SEED_INTERNAL_PROJECT_* keys, or none of them"),
        };
        let flag = |name: &str| {
            var(&format!("STACK_SEED_INTERNAL_PROJECT_{name}")).is_some_and(|v| v == "true")
        };
        let internal_seed = InternalSeed {
            sign_up_enabled: flag("SIGN_UP_ENABLED"),
            otp_enabled: flag("OTP_ENABLED"),
            allow_localhost: flag("ALLOW_LOCALHOST"),
            oauth_providers: var("STACK_SEED_INTERNAL_PROJECT_OAUTH_PROVIDERS")
                .unwrap_or_default()
                .split(',')
                .map(|p| p.trim().to_ascii_lowercase())
                .filter(|p| !p.is_empty())
                .collect(),
            admin: match (
                var("STACK_SEED_INTERNAL_PROJECT_USER_EMAIL"),
                var("STACK_SEED_INTERNAL_PROJECT_USER_PASSWORD"),
            ) {
                (Some(e), Some(p)) => Some((e, p)),
                (None, None) => None,
                _ => anyhow::bail!("set both STACK_SEED_INTERNAL_PROJECT_USER_EMAIL and _USER_PASSWORD, or neither"),
            },
        };
        Ok(Config {
            smtp: smtp_from_env()?,
            country_header: var("GATEHOUSE_COUNTRY_HEADER").map(|h| h.trim().to_string()),
            oauth: SharedKeys::from_lookup(var),
            webhooks: webhooks_from_env()?,
            trusted_proxies: crate::client_ip::TrustedProxies::parse(
                &var("GATEHOUSE_TRUSTED_PROXIES").unwrap_or_default(),
            )?,
            rate_limits_off: match var("GATEHOUSE_RATE_LIMITS").as_deref() {
                None | Some("on") => false,
                Some("off") => true,
                Some(other) => anyhow::bail!("GATEHOUSE_RATE_LIMITS is on or off, not {other:?}"),
            },
            turnstile_siteverify_url: var("GATEHOUSE_TURNSTILE_SITEVERIFY_URL"),
            metrics_token: var("GATEHOUSE_METRICS_TOKEN"),
            stripe: gatehouse_core::payments::stripe::StripeUrls::new(
                var("GATEHOUSE_STRIPE_API_URL"),
                var("GATEHOUSE_STRIPE_JS_URL"),
            ),
            replay_dir: match var("GATEHOUSE_REPLAY_STORAGE").as_deref() {
                None | Some("database") => None,
                Some("directory") => Some(data_dir.join("session-replays")),
                Some(other) => anyhow::bail!(
                    "GATEHOUSE_REPLAY_STORAGE is database or directory, not {other:?}"
                ),
            },
            internal_seed,
            addr,
            database_url,
            data_dir,
            secret: var("GATEHOUSE_SECRET"),
            public_url: var("GATEHOUSE_PUBLIC_URL"),
            seed_keys,
        })
    }

    /// The server secret: from the environment, else from `<data dir>/secret`, made on first
    /// start (and said so in the log).
    /// The core's settings, for a server answering at `public_url` (or a CLI command).
    pub fn core_settings(&self, public_url: String) -> anyhow::Result<gatehouse_core::Settings> {
        Ok(gatehouse_core::Settings {
            database_url: self.database_url.clone(),
            secret: self.load_secret()?,
            public_url,
            seed_keys: self.seed_keys.clone(),
            internal_seed: self.internal_seed.clone(),
            smtp: self.smtp.clone(),
            country_header: self.country_header.clone(),
            oauth: self.oauth.clone(),
            webhooks: self.webhooks.clone(),
            read_cache_lifetime: None,
            rate_limits_off: self.rate_limits_off,
            turnstile_siteverify_url: self.turnstile_siteverify_url.clone(),
            stripe: self.stripe.clone(),
            replay_dir: self.replay_dir.clone(),
        })
    }

    pub fn load_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(s) = &self.secret {
            anyhow::ensure!(
                s.len() >= 16,
                "GATEHOUSE_SECRET must be at least 16 characters"
            );
            return Ok(s.as_bytes().to_vec());
        }
        let path = self.data_dir.join("secret");
        if let Ok(s) = std::fs::read_to_string(&path) {
            return Ok(s.trim().as_bytes().to_vec());
        }
        std::fs::create_dir_all(&self.data_dir)?;
        let secret = gatehouse_core::crypto::random_hex(32);
        write_private(&path, &secret)?;
        tracing::warn!(path = %path.display(), "GATEHOUSE_SECRET is not set: generated a server secret and saved it; keep this file (tokens are signed with keys derived from it)");
        Ok(secret.into_bytes())
    }
}

/// The server-wide SMTP server: `GATEHOUSE_SMTP_URL` (`smtp://user:pass@host:port`,
/// `smtps://…` for TLS from the start) with `GATEHOUSE_EMAIL_FROM` (`Name <address>` or an
/// address), or Stack's `STACK_EMAIL_HOST`, `_PORT`, `_USERNAME`, `_PASSWORD`, `_SENDER`.
fn smtp_from_env() -> anyhow::Result<Option<SmtpServer>> {
    let from = var("GATEHOUSE_EMAIL_FROM").or_else(|| var("STACK_EMAIL_SENDER"));
    let (sender_name, sender_email) = match from.as_deref().map(str::trim) {
        Some(f) => match f.rsplit_once('<') {
            Some((name, addr)) => (
                name.trim().trim_matches('"').to_string(),
                addr.trim_end_matches('>').trim().to_string(),
            ),
            None => (String::new(), f.to_string()),
        },
        None => (String::new(), String::new()),
    };
    let need_sender = |what: &str| {
        anyhow::ensure!(
            !sender_email.is_empty(),
            "{what} is set: set GATEHOUSE_EMAIL_FROM (or STACK_EMAIL_SENDER) to the address emails come from"
        );
        Ok(())
    };
    if let Some(raw) = var("GATEHOUSE_SMTP_URL") {
        let url = url::Url::parse(&raw).map_err(|e| {
            anyhow::anyhow!("GATEHOUSE_SMTP_URL is not a URL like smtp://user:pass@host:587: {e}")
        })?;
        let implicit_tls = match url.scheme() {
            "smtps" => true,
            "smtp" => false,
            other => anyhow::bail!(
                "GATEHOUSE_SMTP_URL must start with smtp:// or smtps://, not {other}://"
            ),
        };
        let host = url
            .host_str()
            .ok_or_else(|| anyhow::anyhow!("GATEHOUSE_SMTP_URL names no host"))?;
        let port = url.port().unwrap_or(if implicit_tls { 465 } else { 587 });
        let decode = |s: &str| percent_decode(s);
        need_sender("GATEHOUSE_SMTP_URL")?;
        return Ok(Some(SmtpServer {
            host: host.to_string(),
            port,
            username: (!url.username().is_empty()).then(|| decode(url.username())),
            password: url.password().map(decode),
            sender_name,
            sender_email,
            implicit_tls: implicit_tls || port == 465,
        }));
    }
    if let Some(host) = var("STACK_EMAIL_HOST") {
        let port = match var("STACK_EMAIL_PORT") {
            Some(p) => p
                .parse()
                .map_err(|_| anyhow::anyhow!("STACK_EMAIL_PORT={p:?} is not a port"))?,
            None => 587,
        };
        need_sender("STACK_EMAIL_HOST")?;
        return Ok(Some(SmtpServer {
            host,
            port,
            username: var("STACK_EMAIL_USERNAME"),
            password: var("STACK_EMAIL_PASSWORD"),
            sender_name,
            sender_email,
            implicit_tls: port == 465,
        }));
    }
    Ok(None)
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(hex)) => {
                match u8::from_str_radix(std::str::from_utf8(hex).unwrap_or(""), 16) {
                    Ok(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(unix)]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(content.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    std::fs::write(path, content)
}

/// The webhook settings: the retry schedule as seconds (`0,5,300,…`; default Svix's), whether
/// endpoints may be on private addresses, and how long an endpoint may fail before it is
/// disabled.
fn webhooks_from_env() -> anyhow::Result<WebhookSettings> {
    let seconds = |name: &str, text: &str| -> anyhow::Result<i64> {
        let s: f64 = text
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{name}: {text:?} is not a number of seconds"))?;
        anyhow::ensure!(s >= 0.0, "{name}: {text:?} must not be negative");
        Ok((s * 1000.0) as i64)
    };
    let schedule = match var("GATEHOUSE_WEBHOOK_RETRY_SCHEDULE") {
        Some(v) => Some(
            v.split(',')
                .map(|p| seconds("GATEHOUSE_WEBHOOK_RETRY_SCHEDULE", p))
                .collect::<anyhow::Result<Vec<i64>>>()?,
        ),
        None => None,
    };
    Ok(WebhookSettings {
        retry_schedule_ms: schedule,
        allow_private_addresses: var("GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE_ADDRESSES")
            .is_some_and(|v| v == "true"),
        disable_after_ms: var("GATEHOUSE_WEBHOOK_DISABLE_AFTER_SECONDS")
            .map(|v| seconds("GATEHOUSE_WEBHOOK_DISABLE_AFTER_SECONDS", &v))
            .transpose()?,
    })
}
