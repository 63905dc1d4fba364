//! The CLI against a running server with a person's own account: `gatehouse login` signs the
//! terminal in through Stack's CLI flow (`/auth/cli`, confirmed on the hosted page), and
//! `whoami`, `api` and `logout` use that session. A dashboard admin who logs in to the
//! `internal` project can call any project they manage with `api --project`, as the dashboard
//! does (an admin access token).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// What `login` keeps (mode 0600): where, as whom, and the session's refresh token.
#[derive(Serialize, Deserialize)]
pub struct Credentials {
    pub server: String,
    pub project_id: String,
    pub publishable_client_key: Option<String>,
    pub refresh_token: String,
}

/// `$GATEHOUSE_CREDENTIALS`, else `~/.config/gatehouse/credentials.json`.
pub fn credentials_path() -> PathBuf {
    if let Some(p) = std::env::var_os("GATEHOUSE_CREDENTIALS") {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".config/gatehouse/credentials.json")
}

fn load() -> anyhow::Result<Credentials> {
    let path = credentials_path();
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "not logged in ({} is missing): run `gatehouse login` first",
            path.display()
        )
    })?;
    Ok(serde_json::from_str(&text)?)
}

fn save(c: &Credentials) -> anyhow::Result<()> {
    let path = credentials_path();
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string_pretty(c)?;
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(text.as_bytes())?;
    }
    #[cfg(not(unix))]
    std::fs::write(&path, text)?;
    Ok(())
}

/// A client-access request to the project the terminal is signed in to.
struct Client {
    http: reqwest::Client,
    server: String,
    project_id: String,
    publishable_client_key: Option<String>,
}

impl Client {
    fn new(server: &str, project_id: &str, publishable_client_key: Option<String>) -> Client {
        Client {
            http: reqwest::Client::new(),
            server: server.trim_end_matches('/').to_string(),
            project_id: project_id.to_string(),
            publishable_client_key,
        }
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self
            .http
            .request(method, format!("{}/api/v1{path}", self.server))
            .header("x-stack-access-type", "client")
            .header("x-stack-project-id", &self.project_id);
        if let Some(k) = &self.publishable_client_key {
            r = r.header("x-stack-publishable-client-key", k);
        }
        r
    }

    /// Sends and reads the JSON answer; a known error becomes the error's message.
    async fn send(r: reqwest::RequestBuilder) -> anyhow::Result<(u16, Value)> {
        let res = r.send().await.context("the server did not answer")?;
        let status = res.status().as_u16();
        let text = res.text().await?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body))
    }

    async fn access_token(&self, refresh_token: &str) -> anyhow::Result<String> {
        let r = self
            .request(reqwest::Method::POST, "/auth/sessions/current/refresh")
            .header("x-stack-refresh-token", refresh_token)
            .json(&json!({}));
        match Client::send(r).await? {
            (200, body) => Ok(body["access_token"]
                .as_str()
                .unwrap_or_default()
                .to_string()),
            (_, body) => bail!(
                "the session has ended ({}): run `gatehouse login` again",
                error_text(&body)
            ),
        }
    }
}

fn error_text(body: &Value) -> String {
    body["error"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| body.to_string())
}

/// `gatehouse login`: start the CLI flow, show the link, poll until it is confirmed.
pub async fn login(
    server: &str,
    project_id: &str,
    publishable_client_key: Option<String>,
    timeout: Duration,
) -> anyhow::Result<()> {
    let client = Client::new(server, project_id, publishable_client_key.clone());
    let (status, started) = Client::send(
        client
            .request(reqwest::Method::POST, "/auth/cli")
            .json(&json!({})),
    )
    .await?;
    if status != 200 {
        bail!("could not start signing in: {}", error_text(&started));
    }
    let login_code = started["login_code"].as_str().unwrap_or_default();
    let polling_code = started["polling_code"].as_str().unwrap_or_default();
    eprintln!(
        "Open this link in a browser to sign this terminal in:\n\n  {}/handler/{project_id}/cli-auth-confirm?login_code={login_code}\n\nWaiting…",
        client.server
    );
    let deadline = Instant::now() + timeout;
    let refresh_token = loop {
        if Instant::now() > deadline {
            bail!("nobody confirmed the sign-in in time");
        }
        let r = client
            .request(reqwest::Method::POST, "/auth/cli/poll")
            .json(&json!({ "polling_code": polling_code }));
        let (_, body) = Client::send(r).await?;
        match body["status"].as_str() {
            Some("success") => {
                break body["refresh_token"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            }
            Some("waiting") => tokio::time::sleep(Duration::from_millis(500)).await,
            Some(other) => bail!("the sign-in is {other}: run `gatehouse login` again"),
            None => bail!("could not sign in: {}", error_text(&body)),
        }
    };
    save(&Credentials {
        server: client.server.clone(),
        project_id: project_id.to_string(),
        publishable_client_key,
        refresh_token,
    })?;
    let me = whoami_value().await?;
    eprintln!(
        "Signed in as {} ({}).",
        me["primary_email"]
            .as_str()
            .or(me["display_name"].as_str())
            .unwrap_or("a user"),
        me["id"].as_str().unwrap_or_default()
    );
    Ok(())
}

async fn whoami_value() -> anyhow::Result<Value> {
    let c = load()?;
    let client = Client::new(&c.server, &c.project_id, c.publishable_client_key.clone());
    let token = client.access_token(&c.refresh_token).await?;
    let (status, me) = Client::send(
        client
            .request(reqwest::Method::GET, "/users/me")
            .header("x-stack-access-token", token),
    )
    .await?;
    if status != 200 {
        bail!("{}", error_text(&me));
    }
    Ok(me)
}

/// `gatehouse whoami`: the signed-in user, as JSON.
pub async fn whoami() -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(&whoami_value().await?)?);
    Ok(())
}

/// `gatehouse api METHOD PATH [--data JSON] [--project P]`: one REST call as the signed-in
/// user (client access); with `--project`, as a dashboard admin of that project (admin access
/// with the admin's own token). Prints the answer; fails on an error status.
pub async fn api(
    method: &str,
    path: &str,
    data: Option<String>,
    project: Option<String>,
) -> anyhow::Result<()> {
    let c = load()?;
    let client = Client::new(&c.server, &c.project_id, c.publishable_client_key.clone());
    let token = client.access_token(&c.refresh_token).await?;
    let method: reqwest::Method = method
        .to_ascii_uppercase()
        .parse()
        .context("not an HTTP method")?;
    let path = if path.starts_with('/') {
        path.to_string()
    } else {
        format!("/{path}")
    };
    let mut r = match &project {
        Some(p) => client
            .http
            .request(method, format!("{}/api/v1{path}", client.server))
            .header("x-stack-access-type", "admin")
            .header("x-stack-project-id", p)
            .header("x-stack-admin-access-token", &token),
        None => client
            .request(method, &path)
            .header("x-stack-access-token", &token),
    };
    if let Some(d) = data {
        let body: Value = serde_json::from_str(&d).context("--data is not JSON")?;
        r = r.json(&body);
    }
    let (status, body) = Client::send(r).await?;
    println!("{}", serde_json::to_string_pretty(&body)?);
    if status >= 400 {
        bail!("the server answered {status}");
    }
    Ok(())
}

/// `gatehouse logout`: ends the terminal's session and forgets it.
pub async fn logout() -> anyhow::Result<()> {
    let c = load()?;
    let client = Client::new(&c.server, &c.project_id, c.publishable_client_key.clone());
    if let Ok(token) = client.access_token(&c.refresh_token).await {
        let r = client
            .request(reqwest::Method::DELETE, "/auth/sessions/current")
            .header("x-stack-access-token", token)
            .header("x-stack-refresh-token", &c.refresh_token);
        Client::send(r).await?;
    }
    std::fs::remove_file(credentials_path())?;
    eprintln!("Logged out.");
    Ok(())
}
