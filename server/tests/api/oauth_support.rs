//! The test side of OAuth: the real OpenID Connect provider process (npm `oidc-provider`,
//! started once for the test run), signing in there as a browser does, and an app driving
//! Gatehouse's flow as the SDK does (its own state and PKCE pair, the code exchange).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use serde_json::Value;
use sha2::Digest;

use crate::helpers::{Project, TestApp};

/// The provider's URL; the process lives as long as the test run (it exits when its standard
/// input, held here, closes).
pub fn provider_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../end2end/support/oidc-server.mjs"
        );
        let mut child = Command::new("node")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "node runs end2end/support/oidc-server.mjs (scripts/test installs its packages)",
            );
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let url = loop {
            let line = lines
                .next()
                .expect("the provider prints its URL")
                .expect("provider output");
            if let Ok(v) = serde_json::from_str::<Value>(&line) {
                break v["url"].as_str().unwrap().to_string();
            }
        };
        // Keep reading what it prints later, so it never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Box::leak(Box::new(child));
        url
    })
    .clone()
}

const APP: &str = "http://localhost:3000";
pub const CALLBACK: &str = "http://localhost:3000/handler/oauth-callback";

pub fn no_redirects() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("a redirect, got {}", r.status()))
        .to_str()
        .unwrap()
        .to_string()
}

pub fn query(url: &str) -> HashMap<String, String> {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// Signs in at the provider as a browser would (cookies, the login form) and returns where it
/// sends the browser back; `None` presses "Deny".
pub async fn provider_login(authorize_url: &str, login: Option<&str>) -> String {
    let http = no_redirects();
    let origin = provider_url();
    let mut jar: Vec<(String, String)> = Vec::new();
    let mut url = authorize_url.to_string();
    for _ in 0..10 {
        let cookies = jar
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let interaction = url.contains("/interaction/");
        let res = if interaction {
            let form: Vec<(&str, &str)> = match login {
                Some(l) => vec![("action", "login"), ("login", l)],
                None => vec![("action", "deny")],
            };
            http.post(url.split('?').next().unwrap())
                .header(COOKIE, cookies)
                .form(&form)
                .send()
                .await
                .unwrap()
        } else {
            http.get(&url).header(COOKIE, cookies).send().await.unwrap()
        };
        for c in res.headers().get_all(SET_COOKIE) {
            let pair = c.to_str().unwrap().split(';').next().unwrap();
            let (k, v) = pair.split_once('=').unwrap();
            jar.retain(|(name, _)| name != k);
            jar.push((k.into(), v.into()));
        }
        let next = reqwest::Url::parse(&url)
            .unwrap()
            .join(&location(&res))
            .unwrap()
            .to_string();
        if !next.starts_with(&origin) {
            return next;
        }
        url = next;
    }
    panic!("too many redirects at the provider");
}

/// An app driving the flow as the SDK does: its own state and PKCE pair.
pub struct Flow {
    pub verifier: String,
    pub state: String,
}

impl Flow {
    pub fn new() -> Flow {
        Flow {
            verifier: format!("verifier-{}", uuid::Uuid::new_v4().simple()),
            state: format!("state-{}", uuid::Uuid::new_v4().simple()),
        }
    }

    /// The authorize URL the SDK builds.
    pub fn authorize_url(
        &self,
        app: &TestApp,
        p: &Project,
        provider: &str,
        extra: &[(&str, &str)],
    ) -> String {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(sha2::Sha256::digest(self.verifier.as_bytes()));
        let mut params: Vec<(&str, String)> = vec![
            ("client_id", p.id.clone()),
            ("client_secret", p.pck.clone()),
            ("redirect_uri", CALLBACK.into()),
            ("scope", "legacy".into()),
            ("state", self.state.clone()),
            ("grant_type", "authorization_code".into()),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256".into()),
            ("response_type", "code".into()),
            ("type", "authenticate".into()),
            ("error_redirect_url", format!("{APP}/handler/error")),
        ];
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            params.push((k, v.to_string()));
        }
        let mut url = reqwest::Url::parse(&format!(
            "{}/api/v1/auth/oauth/authorize/{provider}",
            app.base
        ))
        .unwrap();
        url.query_pairs_mut()
            .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())));
        url.to_string()
    }

    /// Authorize, the provider's login as `login`, and the callback: where Gatehouse sends the
    /// browser at the end (the app's callback with a code, or an error).
    pub async fn run(
        &self,
        app: &TestApp,
        p: &Project,
        provider: &str,
        login: Option<&str>,
        extra: &[(&str, &str)],
    ) -> String {
        let http = no_redirects();
        let res = http
            .get(self.authorize_url(app, p, provider, extra))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            307,
            "authorize: {}",
            res.text().await.unwrap()
        );
        let set_cookie = res
            .headers()
            .get(SET_COOKIE)
            .expect("the flow's cookie")
            .to_str()
            .unwrap()
            .to_string();
        // Written as Stack (Next.js) writes it: path, expiry as a date and in seconds, HttpOnly.
        let attributes: Vec<&str> = set_cookie.split("; ").collect();
        assert_eq!(attributes.len(), 5, "{set_cookie}");
        assert!(
            attributes[0].starts_with("stack-oauth-inner-") && attributes[0].ends_with("=true")
        );
        assert_eq!(attributes[1], "Path=/");
        assert!(
            attributes[2].starts_with("Expires=") && attributes[2].ends_with(" GMT"),
            "{set_cookie}"
        );
        assert_eq!(&attributes[3..], ["Max-Age=600", "HttpOnly"]);
        let cookie = attributes[0].to_string();
        let back = provider_login(&location(&res), login).await;
        assert!(back.starts_with(&app.base), "back at Gatehouse: {back}");
        let res = http.get(&back).header(COOKIE, cookie).send().await.unwrap();
        assert_eq!(res.status(), 303, "callback: {}", res.text().await.unwrap());
        location(&res)
    }

    /// The SDK's code exchange at the token endpoint.
    pub async fn exchange(&self, app: &TestApp, p: &Project, code: &str) -> reqwest::Response {
        no_redirects()
            .post(format!("{}/api/v1/auth/oauth/token", app.base))
            .form(&[
                ("grant_type", "authorization_code"),
                ("client_id", &p.id),
                ("client_secret", &p.pck),
                ("code", code),
                ("code_verifier", &self.verifier),
                ("redirect_uri", CALLBACK),
            ])
            .send()
            .await
            .unwrap()
    }

    /// The whole dance ending in a session: the token answer.
    pub async fn sign_in(
        &self,
        app: &TestApp,
        p: &Project,
        provider: &str,
        login: &str,
        extra: &[(&str, &str)],
    ) -> Value {
        let back = self.run(app, p, provider, Some(login), extra).await;
        let q = query(&back);
        assert!(back.starts_with(CALLBACK), "{back}");
        assert_eq!(q.get("state"), Some(&self.state), "{back}");
        let code = q.get("code").unwrap_or_else(|| panic!("a code in {back}"));
        let res = self.exchange(app, p, code).await;
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
}
