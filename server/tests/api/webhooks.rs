//! Webhooks over HTTP: messages made from every path that changes a user or a team, with the
//! object as the change left it; an endpoint that keeps failing disabled and its admins
//! mailed; the Svix-compatible API's refusals; a name that resolves to loopback refused when
//! the attempt is made. (Delivery verified with the `svix` library is in
//! end2end/webhooks.test.mjs.)

use std::time::{Duration, Instant};

use gatehouse_core::webhooks::WebhookSettings;
use serde_json::{json, Value};

use crate::helpers::{Project, Req, TestApp};

/// Polls `probe` until it gives something, or panics after ten seconds.
async fn until<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    probe: impl Fn() -> F,
) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn svix(app: &TestApp, p: &Project) -> (Req, String) {
    (app.admin(p), format!("/app/{}", p.id))
}

/// A project whose changes go to an endpoint nobody answers at (a closed local port).
async fn project_with_dead_endpoint(app: &TestApp) -> (Project, String) {
    let p = app.project().await;
    app.configure(&p, json!({ "domains.allowLocalhost": true }))
        .await;
    let (admin, base) = svix(app, &p);
    let e = admin
        .post(
            &format!("{base}/endpoint"),
            json!({ "url": "http://127.0.0.1:9/hook", "description": "nobody home" }),
        )
        .await;
    assert_eq!(e.status, 201, "{:?}", e.body);
    (p, e.body["id"].as_str().unwrap().to_string())
}

async fn messages(app: &TestApp, p: &Project) -> Vec<Value> {
    let (admin, base) = svix(app, p);
    let mut page = admin.get(&format!("{base}/msg?limit=250")).await.ok()["data"]
        .as_array()
        .unwrap()
        .clone();
    page.reverse();
    page
}

#[tokio::test]
async fn messages_carry_the_object_as_the_change_left_it_from_every_path() {
    let app = TestApp::spawn().await;
    let (p, _) = project_with_dead_endpoint(&app).await;
    let server = app.server(&p);

    // A sign-up through the client door, and a user made and deleted at once.
    let signed_up = app.sign_up(&p, "ada@example.com").await["user_id"]
        .as_str()
        .unwrap()
        .to_string();
    let brief = server
        .post(
            "/users",
            json!({ "primary_email": "brief@example.com", "display_name": "Brief" }),
        )
        .await
        .ok();
    let brief_id = brief["id"].as_str().unwrap().to_string();
    server.delete(&format!("/users/{brief_id}")).await.ok();

    let got = until("three messages", || async {
        let m = messages(&app, &p).await;
        (m.len() >= 3).then_some(m)
    })
    .await;
    let summary: Vec<(String, String)> = got
        .iter()
        .map(|m| {
            let data = &m["payload"]["data"];
            (
                m["eventType"].as_str().unwrap().to_string(),
                data["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("user.created".to_string(), signed_up.clone()),
            ("user.created".to_string(), brief_id.clone()),
            ("user.deleted".to_string(), brief_id.clone()),
        ],
        "sessions send nothing; each change one message"
    );
    // The deleted user's creation still carries the whole user, as it was made.
    let created = &got[1]["payload"];
    assert_eq!(created["type"], "user.created");
    assert_eq!(
        created["data"], brief,
        "the server read, as the creation left it"
    );
    assert_eq!(
        got[2]["payload"]["data"],
        json!({ "id": brief_id, "teams": [] })
    );
    for m in &got {
        let id = m["id"].as_str().unwrap();
        assert!(id.starts_with("msg_") && id.len() == 31, "{id}");
    }
}

#[tokio::test]
async fn an_endpoint_failing_past_the_limit_is_disabled_and_its_admins_mailed() {
    let app = TestApp::spawn_with_webhooks(WebhookSettings {
        retry_schedule_ms: Some(vec![0, 150, 150, 150, 150, 150, 150]),
        disable_after_ms: Some(300),
        ..Default::default()
    })
    .await;
    let (p, endpoint) = project_with_dead_endpoint(&app).await;
    let (admin, base) = svix(&app, &p);
    app.server(&p)
        .post("/teams", json!({ "display_name": "Unheard" }))
        .await
        .ok();

    let disabled = until("the endpoint disabled", || async {
        let e = admin.get(&format!("{base}/endpoint/{endpoint}")).await.ok();
        (e["disabled"] == true).then_some(e)
    })
    .await;
    assert_eq!(disabled["url"], "http://127.0.0.1:9/hook");

    let attempts = admin
        .get(&format!("{base}/attempt/endpoint/{endpoint}"))
        .await
        .ok()["data"]
        .as_array()
        .unwrap()
        .clone();
    assert!(attempts.len() >= 2, "{attempts:?}");
    for a in &attempts {
        assert_eq!(a["statusText"], "fail");
        assert_eq!(a["responseStatusCode"], 0);
        assert!(
            a["response"]
                .as_str()
                .unwrap()
                .contains("could not connect"),
            "{a}"
        );
    }

    // The project's admins hear of it, from the dashboard's own project.
    let internal = app.server(&app.internal());
    let mail = until("the admins' email", || async {
        let items = internal.get("/emails/outbox").await.ok()["items"]
            .as_array()
            .unwrap()
            .clone();
        items.into_iter().find(|m| {
            m["subject"]
                .as_str()
                .unwrap_or("")
                .starts_with("Webhook endpoint disabled")
        })
    })
    .await;
    assert!(
        mail["html"].as_str().unwrap().contains("127.0.0.1:9/hook"),
        "{mail}"
    );
    assert!(mail["html"]
        .as_str()
        .unwrap()
        .contains(&format!("/projects/{}/webhooks", p.id)));

    // Enabled again, it starts afresh.
    let again = admin
        .send(
            reqwest::Method::PATCH,
            &format!("{base}/endpoint/{endpoint}"),
            Some(json!({ "disabled": false })),
        )
        .await
        .ok();
    assert_eq!(again["disabled"], false);
}

#[tokio::test]
async fn the_svix_api_refuses_what_it_should() {
    let app = TestApp::spawn().await;
    let (p, endpoint) = project_with_dead_endpoint(&app).await;
    let other = app.project().await;
    let base = format!("/app/{}", p.id);

    // A token opens its own project only; no credentials open nothing.
    let token = app.admin(&p).post("/webhooks/svix-token", json!({})).await;
    assert_eq!(token.status, 201);
    let token = token.body["token"].as_str().unwrap().to_string();
    let bearer = app
        .anon()
        .header("authorization", &format!("Bearer {token}"));
    let listed = bearer.get(&format!("{base}/endpoint")).await.ok();
    assert_eq!(listed["data"][0]["id"], endpoint.as_str());
    assert_eq!(listed["done"], true);
    assert_eq!(
        bearer
            .get(&format!("/app/{}/endpoint", other.id))
            .await
            .status,
        403
    );
    assert_eq!(
        app.anon().get(&format!("{base}/endpoint")).await.status,
        401
    );
    assert_eq!(
        app.anon()
            .header("authorization", "Bearer gh_wh_forged")
            .get(&format!("{base}/endpoint"))
            .await
            .status,
        401
    );
    app.server(&p)
        .get(&format!("{base}/endpoint"))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    app.admin(&p)
        .post("/webhooks/svix-token", json!({ "extra": 1 }))
        .await
        .known_error(400, "SCHEMA_ERROR");

    let admin = app.admin(&p);
    assert_eq!(
        admin
            .get(&format!("{base}/endpoint/ep_missing"))
            .await
            .status,
        404
    );
    let bad = admin
        .post(&format!("{base}/endpoint"), json!({ "url": "not a url" }))
        .await;
    bad.known_error(400, "SCHEMA_ERROR");
    assert!(bad.message().contains("body.url"), "{}", bad.message());
    let bad = admin
        .post(
            &format!("{base}/endpoint"),
            json!({ "url": "https://example.com/h", "eventTypes": ["user.exploded"] }),
        )
        .await;
    bad.known_error(400, "SCHEMA_ERROR");
    assert!(bad.message().contains("user.exploded"));

    // A test event to an endpoint nobody answers says why it failed.
    let test = admin
        .post(
            "/internal/send-test-webhook",
            json!({ "endpoint_id": endpoint }),
        )
        .await
        .ok();
    assert_eq!(test["success"], false);
    assert!(
        test["error_message"]
            .as_str()
            .unwrap()
            .contains("could not connect"),
        "{test}"
    );
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused_when_the_attempt_is_made() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.configure(&p, json!({ "domains.allowLocalhost": false }))
        .await;
    let admin = app.admin(&p);
    let base = format!("/app/{}", p.id);
    // A name for this machine other than `localhost` (in /etc/hosts): only the lookup can tell
    // it is loopback.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    let name = hosts
        .lines()
        .filter(|l| l.trim_start().starts_with("127."))
        .flat_map(|l| l.split_whitespace().skip(1))
        .find(|n| !n.starts_with("localhost") && !n.starts_with('#'))
        .expect("/etc/hosts names this machine with a loopback address")
        .to_string();
    let e = admin
        .post(
            &format!("{base}/endpoint"),
            json!({ "url": format!("http://{name}:9/hook") }),
        )
        .await;
    assert_eq!(e.status, 201, "{:?}", e.body);
    let id = e.body["id"].as_str().unwrap().to_string();
    let test = admin
        .post("/internal/send-test-webhook", json!({ "endpoint_id": id }))
        .await
        .ok();
    assert_eq!(test["success"], false);
    let why = test["error_message"].as_str().unwrap();
    assert!(
        why.contains("refused") && why.contains("127.0.0.1"),
        "{why}"
    );
}
