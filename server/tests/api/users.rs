//! `/users`: server CRUD, `me`, metadata rules, listing.

use serde_json::{json, Value};

use crate::helpers::{TestApp, PASSWORD};

#[tokio::test]
async fn server_creates_a_user_with_password_and_metadata_who_can_sign_in() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let created = app
        .server(&p)
        .post(
            "/users",
            json!({
                "primary_email": "Ada@Example.com",
                "password": PASSWORD,
                "display_name": "Ada",
                "primary_email_auth_enabled": true,
                "client_metadata": { "theme": "dark" },
                "client_read_only_metadata": { "plan": "pro" },
                "server_metadata": { "stripe": "cus_1" },
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let u = created.body;
    assert_eq!(u["primary_email"], "ada@example.com");
    assert_eq!(u["has_password"], true);
    assert_eq!(u["server_metadata"]["stripe"], "cus_1");
    assert_eq!(u["is_anonymous"], false);
    assert!(u["signed_up_at_millis"].is_i64());
    let id = u["id"].as_str().unwrap();
    assert_eq!(
        app.server(&p).get(&format!("/users/{id}")).await.ok()["display_name"],
        "Ada"
    );

    let tokens = app
        .client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    assert_eq!(tokens["user_id"], id);
    let me = app
        .client(&p)
        .token(tokens["access_token"].as_str().unwrap())
        .get("/users/me")
        .await
        .ok();
    assert_eq!(me["client_metadata"]["theme"], "dark");
    assert_eq!(me["client_read_only_metadata"]["plan"], "pro");
    assert!(
        me.get("server_metadata").is_none(),
        "the client view hides server metadata"
    );
}

#[tokio::test]
async fn imported_bcrypt_password_hash_signs_in() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let hash = bcrypt::hash("imported password", 4).unwrap();
    app.server(&p)
        .post(
            "/users",
            json!({ "primary_email": "imp@example.com", "primary_email_auth_enabled": true, "password_hash": hash }),
        )
        .await
        .ok();
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "imp@example.com", "password": "imported password" }),
        )
        .await
        .ok();
    let r = app
        .server(&p)
        .post(
            "/users",
            json!({ "primary_email": "bad@example.com", "password_hash": "plaintext" }),
        )
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.text,
        "Invalid password hash. Make sure it's a supported algorithm in Modular Crypt Format."
    );
}

#[tokio::test]
async fn duplicate_sign_in_email_is_rejected_and_nothing_is_half_written() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.server(&p)
        .post(
            "/users",
            json!({ "primary_email": "dup@example.com", "primary_email_auth_enabled": true }),
        )
        .await
        .ok();
    let r = app
        .server(&p)
        .post(
            "/users",
            json!({ "primary_email": "DUP@example.com", "primary_email_auth_enabled": true }),
        )
        .await;
    r.known_error(409, "USER_EMAIL_ALREADY_EXISTS");
    assert_eq!(r.body["details"]["email"], "dup@example.com");
    let list = app.server(&p).get("/users").await.ok();
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // The same address without sign-in rights is not a conflict.
    app.server(&p)
        .post(
            "/users",
            json!({ "primary_email": "dup@example.com", "primary_email_auth_enabled": false }),
        )
        .await
        .ok();
}

#[tokio::test]
async fn metadata_write_rules_follow_the_access_type() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "meta@example.com").await;
    let at = t["access_token"].as_str().unwrap();
    let id = t["user_id"].as_str().unwrap();
    let me = app
        .client(&p)
        .token(at)
        .patch(
            "/users/me",
            json!({ "client_metadata": { "a": 1 }, "display_name": "Meta" }),
        )
        .await
        .ok();
    assert_eq!(me["client_metadata"], json!({ "a": 1 }));
    for field in ["client_read_only_metadata", "server_metadata"] {
        let r = app
            .client(&p)
            .token(at)
            .patch("/users/me", json!({ field: { "x": 1 } }))
            .await;
        r.known_error(400, "SCHEMA_ERROR");
        assert!(r.message().contains(field), "{}", r.text);
    }
    let u = app
        .server(&p)
        .patch(&format!("/users/{id}"), json!({ "client_read_only_metadata": { "plan": "pro" }, "server_metadata": { "s": true } }))
        .await
        .ok();
    assert_eq!(u["client_read_only_metadata"]["plan"], "pro");
    assert_eq!(u["server_metadata"]["s"], true);
    assert_eq!(
        u["client_metadata"],
        json!({ "a": 1 }),
        "untouched fields stay"
    );
    // null clears; absent leaves alone.
    let u = app
        .server(&p)
        .patch(&format!("/users/{id}"), json!({ "server_metadata": null }))
        .await
        .ok();
    assert_eq!(u["server_metadata"], Value::Null);
    assert_eq!(u["display_name"], "Meta");
}

#[tokio::test]
async fn client_reads_only_its_own_user() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let a = app.sign_up(&p, "a@example.com").await;
    let b = app.sign_up(&p, "b@example.com").await;
    let at = a["access_token"].as_str().unwrap();
    app.client(&p)
        .token(at)
        .get(&format!("/users/{}", a["user_id"].as_str().unwrap()))
        .await
        .ok();
    app.client(&p)
        .token(at)
        .get(&format!("/users/{}", b["user_id"].as_str().unwrap()))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    app.client(&p)
        .get("/users/me")
        .await
        .known_error(400, "CANNOT_GET_OWN_USER_WITHOUT_USER");
    app.server(&p)
        .get("/users/00000000-0000-4000-8000-000000000000")
        .await
        .known_error(404, "USER_NOT_FOUND");
    app.server(&p).get("/users/not-a-uuid").await.schema_error(
        "GET",
        "/users/not-a-uuid",
        &["params.user_id must be a valid UUID"],
    );
}

#[tokio::test]
async fn deleting_users() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "gone@example.com").await;
    let (at, id) = (
        t["access_token"].as_str().unwrap(),
        t["user_id"].as_str().unwrap(),
    );
    let r = app.client(&p).token(at).delete("/users/me").await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (400, "Client user deletion is not enabled for this project"),
        "client deletion is off by default"
    );
    app.admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "client_user_deletion_enabled": true } }),
        )
        .await
        .ok();
    app.client(&p).token(at).delete("/users/me").await.ok();
    app.server(&p)
        .get(&format!("/users/{id}"))
        .await
        .known_error(404, "USER_NOT_FOUND");
    // Their sessions went with them.
    app.refresh(&p, t["refresh_token"].as_str().unwrap())
        .await
        .known_error(401, "REFRESH_TOKEN_NOT_FOUND_OR_EXPIRED");

    let other = app
        .server(&p)
        .post("/users", json!({ "primary_email": "x@example.com" }))
        .await
        .ok();
    app.server(&p)
        .delete(&format!("/users/{}", other["id"].as_str().unwrap()))
        .await
        .ok();
    app.server(&p)
        .delete(&format!("/users/{}", other["id"].as_str().unwrap()))
        .await
        .known_error(404, "USER_NOT_FOUND");
    // The email is free again.
    app.sign_up(&p, "gone@example.com").await;
}

async fn ids(app: &TestApp, p: &crate::helpers::Project, query: &str) -> (Vec<String>, Value) {
    let page = app.server(p).get(&format!("/users?{query}")).await.ok();
    let ids = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .collect();
    (ids, page["pagination"]["next_cursor"].clone())
}

/// Search as Stack's: the id only whole, names and emails by any part in any case, kept current
/// by the database on every write, and never reaching into another project.
#[tokio::test]
async fn search_finds_users_by_any_part_of_name_or_email() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let other = app.project().await;
    let mut id = std::collections::HashMap::new();
    for (email, name) in [
        ("ada.lovelace@engines.example", "Ada Lovelace"),
        ("emile@example.org", "Émilie du Châtelet"),
        ("quote@example.org", "Say \"hi\" now"),
        ("gr@example.net", "Grace Hopper"),
    ] {
        let u = app
            .server(&p)
            .post(
                "/users",
                json!({ "primary_email": email, "display_name": name }),
            )
            .await
            .ok();
        id.insert(name, u["id"].as_str().unwrap().to_string());
    }
    app.server(&other)
        .post(
            "/users",
            json!({ "primary_email": "ada@other.example", "display_name": "Ada Elsewhere" }),
        )
        .await
        .ok();
    let find = |q: &str| {
        let q = q
            .replace('%', "%25")
            .replace(' ', "%20")
            .replace('"', "%22")
            .replace('@', "%40");
        let (app, p) = (&app, &p);
        async move {
            let mut found = ids(app, p, &format!("query={q}")).await.0;
            found.sort();
            found
        }
    };
    let one = |name: &str| vec![id[name].clone()];
    assert_eq!(find("LOVELACE").await, one("Ada Lovelace"), "any case");
    assert_eq!(
        find("gines.exa").await,
        one("Ada Lovelace"),
        "middle of an email"
    );
    assert_eq!(
        find("ÉMILIE").await,
        one("Émilie du Châtelet"),
        "case of letters beyond ASCII"
    );
    assert_eq!(
        find("\"hi\"").await,
        one("Say \"hi\" now"),
        "quotes are literal"
    );
    assert_eq!(
        find("ce Ho").await,
        one("Grace Hopper"),
        "spaces are literal"
    );
    assert_eq!(
        find("gr").await,
        one("Grace Hopper"),
        "two letters, below a trigram"
    );
    assert_eq!(
        find("Ada").await,
        one("Ada Lovelace"),
        "other projects' users stay out"
    );
    assert_eq!(
        find(&id["Grace Hopper"]).await,
        one("Grace Hopper"),
        "the whole id"
    );
    assert!(
        find(&id["Grace Hopper"][..13]).await.is_empty(),
        "part of an id finds nothing"
    );
    assert!(find("nobody-like-this").await.is_empty());
    // The index follows updates and deletions, whoever makes them.
    let grace = id["Grace Hopper"].clone();
    app.server(&p)
        .patch(
            &format!("/users/{grace}"),
            json!({ "display_name": "Rear Admiral" }),
        )
        .await
        .ok();
    assert!(find("Hopper").await.is_empty());
    assert_eq!(find("admiral").await, one("Grace Hopper"));
    app.server(&p).delete(&format!("/users/{grace}")).await.ok();
    assert!(find("admiral").await.is_empty());
}

#[tokio::test]
async fn listing_pages_with_cursors_searches_and_sorts() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let mut created = vec![];
    for (i, name) in ["Alice", "Bob", "Carol", "Dave", "Eve"].iter().enumerate() {
        let u = app.server(&p).post("/users", json!({ "primary_email": format!("{}@example.com", name.to_lowercase()), "display_name": name })).await.ok();
        created.push(u["id"].as_str().unwrap().to_string());
        let _ = i;
        tokio::time::sleep(std::time::Duration::from_millis(3)).await; // distinct sign-up times
    }
    // Page through two at a time: every user once, in sign-up order.
    let mut seen = vec![];
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("limit=2&cursor={c}"),
            None => "limit=2".into(),
        };
        let (page, next) = ids(&app, &p, &q).await;
        assert!(page.len() <= 2);
        seen.extend(page);
        match next.as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(seen, created);
    let (desc, _) = ids(&app, &p, "desc=true&limit=3").await;
    assert_eq!(
        desc,
        created.iter().rev().take(3).cloned().collect::<Vec<_>>()
    );
    let (found, _) = ids(&app, &p, "query=CARO").await;
    assert_eq!(found, vec![created[2].clone()]);
    let (found, _) = ids(&app, &p, "query=eve%40example").await;
    assert_eq!(found, vec![created[4].clone()]);
    let (found, _) = ids(&app, &p, &format!("query={}", &created[1])).await;
    assert_eq!(found, vec![created[1].clone()]);
    let (found, _) = ids(&app, &p, "query=%25").await;
    assert!(found.is_empty(), "% is matched literally");
    let (by_activity, _) = ids(&app, &p, "order_by=last_active_at").await;
    assert_eq!(by_activity.len(), 5);
    app.server(&p)
        .get("/users?limit=5000")
        .await
        .known_error(400, "SCHEMA_ERROR");
    app.server(&p)
        .get("/users?order_by=name")
        .await
        .known_error(400, "SCHEMA_ERROR");
    app.server(&p)
        .get("/users?cursor=nope")
        .await
        .known_error(400, "SCHEMA_ERROR");
}

#[tokio::test]
async fn anonymous_users_are_listed_only_when_asked_for() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.sign_up(&p, "real@example.com").await;
    let anon = app
        .client(&p)
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    let (plain, _) = ids(&app, &p, "").await;
    assert_eq!(plain.len(), 1);
    let (all, _) = ids(&app, &p, "include_anonymous=true").await;
    assert_eq!(all.len(), 2);
    let (only, _) = ids(&app, &p, "only_anonymous=true&include_anonymous=true").await;
    let r = app.server(&p).get("/users?only_anonymous=true").await;
    assert_eq!(
        (r.status, r.text.as_str()),
        (400, "only_anonymous=true requires include_anonymous=true")
    );
    assert_eq!(only, vec![anon["user_id"].as_str().unwrap().to_string()]);
}
