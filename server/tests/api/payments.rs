//! Payments over REST: a customer's items, their quantity as the ledger adds it up (grants that
//! expire, uses, what is owed), Stack's errors, who may read what, and decrements that never
//! overdraw under concurrency.

use serde_json::json;

use crate::helpers::{Project, TestApp};

async fn catalogue(app: &TestApp, p: &Project) {
    app.configure(
        p,
        json!({
            "payments.items.credits": { "displayName": "API Credits", "customerType": "user" },
            "payments.items.seats": { "customerType": "team" },
            "payments.items.tokens": { "customerType": "custom" },
        }),
    )
    .await;
}

fn change(customer: &str, item: &str, allow_negative: bool) -> String {
    format!("/payments/items/{customer}/{item}/update-quantity?allow_negative={allow_negative}")
}

#[tokio::test]
async fn quantities_are_granted_used_and_refused_below_zero() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    catalogue(&app, &p).await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let user = format!("user/{ada_id}");

    let fresh = server
        .get(&format!("/payments/items/{user}/credits"))
        .await
        .ok();
    assert_eq!(
        fresh,
        json!({ "id": "credits", "display_name": "API Credits", "quantity": 0 })
    );

    let granted = server
        .post(
            &change(&user, "credits", false),
            json!({ "delta": 100, "description": "Monthly" }),
        )
        .await
        .ok();
    assert_eq!(granted, json!({}));
    server
        .post(&change(&user, "credits", false), json!({ "delta": -30 }))
        .await
        .ok();
    let refused = server
        .post(&change(&user, "credits", false), json!({ "delta": -71 }))
        .await;
    refused.known_error(400, "ITEM_QUANTITY_INSUFFICIENT_AMOUNT");
    assert_eq!(
        refused.body["details"],
        json!({ "item_id": "credits", "customer_id": ada_id, "quantity": -71 })
    );
    assert_eq!(
        refused.message(),
        format!("The item with ID \"credits\" has an insufficient quantity for the customer with ID \"{ada_id}\". An attempt was made to charge -71 credits.")
    );
    // Allowed below zero when asked, and what is owed is paid back by the next grant.
    server
        .post(&change(&user, "credits", true), json!({ "delta": -80 }))
        .await
        .ok();
    let owed = ada
        .get(&format!("/payments/items/{user}/credits"))
        .await
        .ok();
    assert_eq!(owed["quantity"], -10);
    server
        .post(&change(&user, "credits", false), json!({ "delta": 15 }))
        .await
        .ok();
    assert_eq!(
        ada.get(&format!("/payments/items/{user}/credits"))
            .await
            .ok()["quantity"],
        5
    );

    // A team's and a custom customer's items.
    let team = server
        .post("/teams", json!({ "display_name": "Crew" }))
        .await
        .ok();
    let team_id = team["id"].as_str().unwrap();
    server
        .post(
            &change(&format!("team/{team_id}"), "seats", false),
            json!({ "delta": 3 }),
        )
        .await
        .ok();
    assert_eq!(
        server
            .get(&format!("/payments/items/team/{team_id}/seats"))
            .await
            .ok()["quantity"],
        3
    );
    server
        .post(
            &change("custom/org-42", "tokens", false),
            json!({ "delta": 7 }),
        )
        .await
        .ok();
    let custom = server
        .get("/payments/items/custom/org-42/tokens")
        .await
        .ok();
    assert_eq!(
        custom,
        json!({ "id": "tokens", "display_name": "tokens", "quantity": 7 })
    );

    // Every change is in the project's record of changes.
    let kinds: Vec<(String,)> = sqlx::query_as(
        "SELECT kind FROM events WHERE project_id = $1 AND kind = 'item_quantity_change.created'",
    )
    .bind(&p.id)
    .fetch_all(&app.core.db.pool)
    .await
    .unwrap();
    assert_eq!(kinds.len(), 6, "the refused change left no event");
}

#[tokio::test]
async fn errors_are_stacks_and_clients_read_only_what_is_theirs() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    catalogue(&app, &p).await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let (bob_id, _) = app.signed_up(&p, "bob@example.com").await;

    let missing = server
        .get(&format!("/payments/items/user/{ada_id}/gems"))
        .await;
    missing.known_error(404, "ITEM_NOT_FOUND");
    assert_eq!(missing.message(), "Item with ID \"gems\" not found.");
    let wrong = server
        .get(&format!("/payments/items/team/{ada_id}/credits"))
        .await;
    wrong.known_error(400, "ITEM_CUSTOMER_TYPE_DOES_NOT_MATCH");
    assert_eq!(
        wrong.body["details"],
        json!({ "item_id": "credits", "customer_id": ada_id, "item_customer_type": "user", "actual_customer_type": "team" })
    );
    server
        .get("/payments/items/user/00000000-0000-4000-8000-000000000000/credits")
        .await
        .known_error(404, "USER_NOT_FOUND");
    server
        .get("/payments/items/team/not-a-team/seats")
        .await
        .known_error(404, "TEAM_NOT_FOUND");
    server
        .get("/payments/items/org/x/credits")
        .await
        .schema_error(
            "GET",
            "/payments/items/org/x/credits",
            &["params.customer_type must be one of the following values: user, team, custom"],
        );
    let path = format!("/payments/items/user/{ada_id}/credits/update-quantity");
    server
        .post(&path, json!({ "delta": 1 }))
        .await
        .schema_error("POST", &path, &["query.allow_negative must be defined"]);
    let bad = format!("{path}?allow_negative=false");
    server
        .post(&bad, json!({ "delta": 1.5, "expires_at": "tomorrow" }))
        .await
        .schema_error(
            "POST",
            &path,
            &[
                "body.delta must be an integer",
                "body.expires_at must be a date and time in ISO 8601 (2030-12-31T23:59:59Z)",
            ],
        );

    // Clients change nothing, and read their own user's items and their teams' where they are
    // team admins.
    ada.post(&bad, json!({ "delta": 1 }))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    ada.get(&format!("/payments/items/user/{ada_id}/credits"))
        .await
        .ok();
    let others = ada
        .get(&format!("/payments/items/user/{bob_id}/credits"))
        .await;
    assert_eq!(
        (others.status, others.text.as_str()),
        (403, "Clients can only access their own user or team items.")
    );
    let custom = ada.get("/payments/items/custom/org-42/tokens").await;
    assert_eq!(custom.status, 403);
    app.client(&p)
        .get(&format!("/payments/items/user/{ada_id}/credits"))
        .await
        .known_error(401, "USER_AUTHENTICATION_REQUIRED");
    let crew = server
        .post(
            "/teams",
            json!({ "display_name": "Crew", "creator_user_id": ada_id }),
        )
        .await
        .ok();
    let crew_id = crew["id"].as_str().unwrap();
    ada.get(&format!("/payments/items/team/{crew_id}/seats"))
        .await
        .ok();
    let other_team = server
        .post("/teams", json!({ "display_name": "Other" }))
        .await
        .ok();
    ada.get(&format!(
        "/payments/items/team/{}/seats",
        other_team["id"].as_str().unwrap()
    ))
    .await
    .known_error(404, "TEAM_MEMBERSHIP_NOT_FOUND");
}

#[tokio::test]
async fn grants_that_expire_stop_counting_and_take_only_what_is_left() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    catalogue(&app, &p).await;
    let server = app.server(&p);
    let path = "/payments/items/custom/org-1/tokens";
    let update = format!("{path}/update-quantity?allow_negative=false");
    server.post(&update, json!({ "delta": 10 })).await.ok();
    let soon = gatehouse_core::iso_time(gatehouse_core::now_ms() + 3_000);
    server
        .post(&update, json!({ "delta": 50, "expires_at": soon }))
        .await
        .ok();
    server.post(&update, json!({ "delta": -20 })).await.ok();
    assert_eq!(server.get(path).await.ok()["quantity"], 40);
    // The use came out of the grant that expires: 30 of it are left, and go with it.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let q = server.get(path).await.ok()["quantity"].clone();
        if q == 10 {
            break;
        }
        assert_eq!(q, 40);
        assert!(
            std::time::Instant::now() < deadline,
            "the grant never expired"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_decrements_never_overdraw() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    catalogue(&app, &p).await;
    let server = app.server(&p);
    let path = "/payments/items/custom/org-9/tokens";
    let update = format!("{path}/update-quantity?allow_negative=false");
    // Each round grants one and sends many decrements of one at once: exactly one may succeed.
    for round in 1..=5 {
        server.post(&update, json!({ "delta": 1 })).await.ok();
        let tries: Vec<_> = (0..12)
            .map(|_| {
                let server = server.clone();
                let update = update.clone();
                tokio::spawn(async move { server.post(&update, json!({ "delta": -1 })).await })
            })
            .collect();
        let mut spent = 0;
        for t in tries {
            let r = t.await.unwrap();
            match r.status {
                200 => spent += 1,
                _ => {
                    r.known_error(400, "ITEM_QUANTITY_INSUFFICIENT_AMOUNT");
                }
            }
        }
        assert_eq!(spent, 1, "round {round}");
        assert_eq!(server.get(path).await.ok()["quantity"], 0, "round {round}");
    }
}
