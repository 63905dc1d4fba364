//! Spins up a real Gatehouse on a free port, on a fresh database: a temporary SQLite file, or a
//! new PostgreSQL database when `GATEHOUSE_TEST_DB=postgres`; and speaks HTTP to it.

use gatehouse_core::setup::InternalSeed;
use gatehouse_server::config::Config;
use gatehouse_server::startup::Application;
use reqwest::Method;
use serde_json::{json, Value};

pub const PCK: &str = "pck_internal_test_publishable";
pub const SSK: &str = "ssk_internal_test_secret_server";
pub const SAK: &str = "sak_internal_test_super_secret_admin";
pub const PASSWORD: &str = "correct horse battery";

/// Which database this run tests, and how to make a fresh one.
pub async fn fresh_database_url(tmp: &std::path::Path) -> String {
    match std::env::var("GATEHOUSE_TEST_DB").as_deref() {
        Ok("postgres") => {
            let admin = std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
            let name = format!("gh_test_{}", uuid::Uuid::new_v4().simple());
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&format!("{admin}/postgres"))
                .await
                .expect("PostgreSQL at GATEHOUSE_TEST_POSTGRES_URL");
            sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str())
                .await
                .expect("create test database");
            format!("{admin}/{name}")
        }
        Ok("sqlite") | Err(_) => format!("sqlite://{}", tmp.join("gatehouse.db").display()),
        Ok(other) => panic!("GATEHOUSE_TEST_DB must be sqlite or postgres, not {other}"),
    }
}

/// Settings only some tests need.
#[derive(Default)]
struct Extra {
    trusted_proxies: gatehouse_server::client_ip::TrustedProxies,
    turnstile_siteverify_url: Option<String>,
}

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub database_url: String,
    pub secret: String,
    pub data_dir: std::path::PathBuf,
    pub setup_link: Option<String>,
    /// The server's core, for tests of mechanisms no endpoint exposes on its own (codes, jobs).
    pub core: gatehouse_core::Core,
    _tmp: tempfile::TempDir,
}

/// A project and its keys.
#[derive(Clone, Debug)]
pub struct Project {
    pub id: String,
    pub pck: String,
    pub ssk: String,
    pub sak: String,
}

impl TestApp {
    /// A server whose dashboard sign-up is open, as in Stack's development setup
    /// (`STACK_SEED_INTERNAL_PROJECT_SIGN_UP_ENABLED=true`).
    pub async fn spawn() -> TestApp {
        TestApp::spawn_with(InternalSeed {
            sign_up_enabled: true,
            ..InternalSeed::default()
        })
        .await
    }

    /// A server started with these `STACK_SEED_INTERNAL_PROJECT_*` settings.
    pub async fn spawn_with(internal_seed: InternalSeed) -> TestApp {
        TestApp::spawn_configured(internal_seed, None, Default::default(), Default::default()).await
    }

    /// A server whose shared GitHub and Google keys are `MOCK`: they sign in at the test
    /// OpenID Connect provider (`STACK_OAUTH_MOCK_URL`), as in Stack's development setup.
    pub async fn spawn_with_oauth(internal_seed: InternalSeed) -> TestApp {
        let url = crate::oauth_support::provider_url();
        let oauth = gatehouse_core::oauth::SharedKeys::from_lookup(|name| match name {
            "STACK_GITHUB_CLIENT_ID" | "STACK_GITHUB_CLIENT_SECRET" => Some("MOCK".into()),
            "STACK_GOOGLE_CLIENT_ID" | "STACK_GOOGLE_CLIENT_SECRET" => Some("MOCK".into()),
            "STACK_OAUTH_MOCK_URL" => Some(url.clone()),
            _ => None,
        });
        TestApp::spawn_configured(internal_seed, None, oauth, Default::default()).await
    }

    /// A server whose server-wide SMTP server is `smtp` (`GATEHOUSE_SMTP_URL`).
    pub async fn spawn_with_smtp(smtp: gatehouse_core::emails::SmtpServer) -> TestApp {
        TestApp::spawn_configured(
            InternalSeed {
                sign_up_enabled: true,
                ..InternalSeed::default()
            },
            Some(smtp),
            Default::default(),
            Default::default(),
        )
        .await
    }

    /// A server with these webhook settings (`GATEHOUSE_WEBHOOK_*`), dashboard sign-up open.
    pub async fn spawn_with_webhooks(
        webhooks: gatehouse_core::webhooks::WebhookSettings,
    ) -> TestApp {
        TestApp::spawn_configured(
            InternalSeed {
                sign_up_enabled: true,
                ..InternalSeed::default()
            },
            None,
            Default::default(),
            webhooks,
        )
        .await
    }

    /// A server behind proxies at `trusted` (`GATEHOUSE_TRUSTED_PROXIES`), dashboard sign-up
    /// open.
    pub async fn spawn_with_trusted_proxies(trusted: &str) -> TestApp {
        TestApp::spawn_with_extra(Extra {
            trusted_proxies: gatehouse_server::client_ip::TrustedProxies::parse(trusted).unwrap(),
            ..Extra::default()
        })
        .await
    }

    /// A server whose Turnstile checks go to `siteverify` (`GATEHOUSE_TURNSTILE_SITEVERIFY_URL`).
    pub async fn spawn_with_turnstile(siteverify: &str) -> TestApp {
        TestApp::spawn_with_extra(Extra {
            turnstile_siteverify_url: Some(siteverify.into()),
            ..Extra::default()
        })
        .await
    }

    async fn spawn_with_extra(extra: Extra) -> TestApp {
        let seed = InternalSeed {
            sign_up_enabled: true,
            ..InternalSeed::default()
        };
        TestApp::spawn_full(seed, None, Default::default(), Default::default(), extra).await
    }

    async fn spawn_configured(
        internal_seed: InternalSeed,
        smtp: Option<gatehouse_core::emails::SmtpServer>,
        oauth: gatehouse_core::oauth::SharedKeys,
        webhooks: gatehouse_core::webhooks::WebhookSettings,
    ) -> TestApp {
        TestApp::spawn_full(internal_seed, smtp, oauth, webhooks, Extra::default()).await
    }

    async fn spawn_full(
        internal_seed: InternalSeed,
        smtp: Option<gatehouse_core::emails::SmtpServer>,
        oauth: gatehouse_core::oauth::SharedKeys,
        webhooks: gatehouse_core::webhooks::WebhookSettings,
        extra: Extra,
    ) -> TestApp {
        let tmp = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(tmp.path()).await;
        let secret = "test secret that is long enough".to_string();
        let config = Config {
            addr: "127.0.0.1:0".parse().unwrap(),
            database_url: database_url.clone(),
            data_dir: tmp.path().to_path_buf(),
            replay_dir: None,
            secret: Some(secret.clone()),
            public_url: None,
            seed_keys: Some(gatehouse_core::projects::SeedKeys {
                publishable_client_key: PCK.into(),
                secret_server_key: SSK.into(),
                super_secret_admin_key: SAK.into(),
            }),
            internal_seed,
            smtp,
            // As a proxy would set it (CF-IPCountry…), for sign-up rules on countries.
            country_header: Some("x-test-country".into()),
            oauth,
            webhooks,
            trusted_proxies: extra.trusted_proxies,
            rate_limits_off: false,
            turnstile_siteverify_url: extra.turnstile_siteverify_url,
            metrics_token: None,
            stripe: Default::default(),
        };
        let app = Application::build(config)
            .await
            .expect("application starts");
        let base = app.base_url.clone();
        let setup_link = app.setup_link.clone();
        let core = app.core.clone();
        tokio::spawn(app.run_until_stopped());
        TestApp {
            base,
            http: reqwest::Client::new(),
            database_url,
            secret,
            data_dir: tmp.path().to_path_buf(),
            setup_link,
            core,
            _tmp: tmp,
        }
    }

    pub fn internal(&self) -> Project {
        Project {
            id: "internal".into(),
            pck: PCK.into(),
            ssk: SSK.into(),
            sak: SAK.into(),
        }
    }

    /// A request with no Stack headers at all.
    pub fn anon(&self) -> Req {
        Req {
            http: self.http.clone(),
            base: self.base.clone(),
            headers: vec![],
        }
    }

    pub fn client(&self, p: &Project) -> Req {
        self.anon()
            .header("x-stack-access-type", "client")
            .header("x-stack-project-id", &p.id)
            .header("x-stack-publishable-client-key", &p.pck)
    }

    pub fn server(&self, p: &Project) -> Req {
        self.anon()
            .header("x-stack-access-type", "server")
            .header("x-stack-project-id", &p.id)
            .header("x-stack-secret-server-key", &p.ssk)
    }

    pub fn admin(&self, p: &Project) -> Req {
        self.anon()
            .header("x-stack-access-type", "admin")
            .header("x-stack-project-id", &p.id)
            .header("x-stack-super-secret-admin-key", &p.sak)
    }

    /// Lays `over` (dotted keys or nested objects) on the project's environment override.
    pub async fn configure(&self, p: &Project, over: Value) {
        self.admin(p)
            .patch(
                "/internal/config/override/environment",
                json!({ "config_override_string": over.to_string() }),
            )
            .await
            .ok();
    }

    /// Signs up with a password; returns `{access_token, refresh_token, user_id}`.
    pub async fn sign_up(&self, p: &Project, email: &str) -> Value {
        self.client(p)
            .post(
                "/auth/password/sign-up",
                json!({ "email": email, "password": PASSWORD }),
            )
            .await
            .ok()
    }

    /// A signed-up user of `p`: their id, and a client request carrying their access token.
    pub async fn signed_up(&self, p: &Project, email: &str) -> (String, Req) {
        let t = self.sign_up(p, email).await;
        (
            t["user_id"].as_str().unwrap().into(),
            self.client(p).token(t["access_token"].as_str().unwrap()),
        )
    }

    /// `POST /auth/sessions/current/refresh` with a refresh token.
    pub async fn refresh(&self, p: &Project, refresh_token: &str) -> Resp {
        self.client(p)
            .header("x-stack-refresh-token", refresh_token)
            .post("/auth/sessions/current/refresh", json!({}))
            .await
    }

    /// A dashboard admin (internal-project user) and their access token.
    pub async fn dashboard_user(&self, email: &str) -> (String, String) {
        let t = self.sign_up(&self.internal(), email).await;
        (
            t["user_id"].as_str().unwrap().into(),
            t["access_token"].as_str().unwrap().into(),
        )
    }

    /// A fresh project owned by a new dashboard user, with a full key set.
    pub async fn project(&self) -> Project {
        let (_, admin_token) = self
            .dashboard_user(&format!(
                "owner-{}@example.com",
                uuid::Uuid::new_v4().simple()
            ))
            .await;
        self.project_of(&admin_token, json!({ "display_name": "Test project" }))
            .await
    }

    pub async fn project_of(&self, admin_token: &str, body: Value) -> Project {
        let created = self
            .client(&self.internal())
            .token(admin_token)
            .post("/internal/projects", body)
            .await;
        assert_eq!(created.status, 201, "{:?}", created.body);
        let id = created.body["id"].as_str().unwrap().to_string();
        let keys = self
            .anon()
            .header("x-stack-access-type", "admin")
            .header("x-stack-project-id", &id)
            .header("x-stack-admin-access-token", admin_token)
            .post(
                "/internal/api-keys",
                json!({
                    "description": "test keys",
                    "expires_at_millis": gatehouse_core::now_ms() + 3_600_000,
                    "has_publishable_client_key": true,
                    "has_secret_server_key": true,
                    "has_super_secret_admin_key": true,
                }),
            )
            .await;
        assert_eq!(keys.status, 200, "{:?}", keys.body);
        let k = |f: &str| keys.body[f].as_str().unwrap().to_string();
        Project {
            id,
            pck: k("publishable_client_key"),
            ssk: k("secret_server_key"),
            sak: k("super_secret_admin_key"),
        }
    }
}

#[derive(Clone)]
pub struct Req {
    http: reqwest::Client,
    base: String,
    headers: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Req {
    pub fn header(mut self, k: &str, v: &str) -> Req {
        self.headers.retain(|(name, _)| name != k);
        self.headers.push((k.into(), v.into()));
        self
    }

    pub fn without(mut self, k: &str) -> Req {
        self.headers.retain(|(name, _)| name != k);
        self
    }

    pub fn token(self, access_token: &str) -> Req {
        self.header("x-stack-access-token", access_token)
            .header("x-stack-allow-anonymous-user", "true")
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let url = if path.starts_with('/')
            && !path.starts_with("/api/")
            && !path.starts_with("/health")
        {
            format!("{}/api/v1{}", self.base, path)
        } else {
            format!("{}{}", self.base, path)
        };
        let mut rb = self.http.request(method, url);
        for (k, v) in &self.headers {
            rb = rb.header(k, v);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let res = rb.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status,
            headers,
            body,
            text,
        }
    }

    pub async fn raw(&self, method: Method, path: &str, body: &'static str) -> Resp {
        let mut rb = self
            .http
            .request(method, format!("{}/api/v1{}", self.base, path))
            .header("content-type", "application/json")
            .body(body);
        for (k, v) in &self.headers {
            rb = rb.header(k, v);
        }
        let res = rb.send().await.expect("request sent");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        Resp {
            status,
            headers,
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }
    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }
    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }
}

impl Resp {
    /// The body of a 2xx answer (panics with the body otherwise).
    pub fn ok(self) -> Value {
        assert!(
            (200..300).contains(&self.status),
            "expected success, got {}: {}",
            self.status,
            self.text
        );
        self.body
    }

    /// Asserts a known error: status, code in body and in `x-stack-known-error`, a message.
    pub fn known_error(&self, status: u16, code: &str) -> &Resp {
        assert_eq!(self.status, status, "status of {}", self.text);
        assert_eq!(self.body["code"], code, "code of {}", self.text);
        assert_eq!(
            self.headers
                .get("x-stack-known-error")
                .and_then(|v| v.to_str().ok()),
            Some(code),
            "header of {}",
            self.text
        );
        assert!(
            self.body["error"].as_str().is_some_and(|m| m.len() > 10),
            "a message in {}",
            self.text
        );
        self
    }

    /// Asserts Stack's SCHEMA_ERROR to the letter: the request line, then one line per issue,
    /// the same text in `error` and `details.message`.
    pub fn schema_error(&self, method: &str, path: &str, lines: &[&str]) {
        self.known_error(400, "SCHEMA_ERROR");
        let mut want = format!("Request validation failed on {method} /api/v1{path}:");
        for l in lines {
            want.push_str("\n  - ");
            want.push_str(l);
        }
        assert_eq!(self.message(), want, "error of {}", self.text);
        assert_eq!(
            self.body["details"]["message"], want,
            "details of {}",
            self.text
        );
    }

    pub fn message(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }
}
