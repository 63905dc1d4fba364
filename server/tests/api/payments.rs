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

/// Plans (a product line), a stackable pack, an add-on, a server-only product and the items
/// they include.
async fn products(app: &TestApp, p: &Project) {
    catalogue(app, p).await;
    app.configure(
        p,
        json!({
            "payments.productLines.plans": { "displayName": "Plans", "customerType": "user" },
            "payments.products.pro": {
                "displayName": "Pro", "customerType": "user", "productLineId": "plans",
                "prices": { "monthly": { "USD": "9.99", "interval": [1, "month"] } },
                "includedItems": { "credits": { "quantity": 100, "repeat": [1, "month"], "expires": "when-purchase-expires" } },
            },
            "payments.products.business": {
                "displayName": "Business", "customerType": "user", "productLineId": "plans",
                "prices": { "monthly": { "USD": "49", "interval": [1, "month"] }, "yearly": { "USD": "490", "interval": [1, "year"] } },
                "includedItems": { "credits": { "quantity": 1000, "expires": "when-purchase-expires" } },
            },
            "payments.products.pack": {
                "displayName": "Credit pack", "customerType": "user", "stackable": true,
                "prices": { "once": { "USD": "5" } },
                "includedItems": { "credits": { "quantity": 50, "expires": "never" } },
            },
            "payments.products.extra": {
                "displayName": "Extra", "customerType": "user", "isAddOnTo": { "pro": true },
                "prices": { "once": { "USD": "1" } },
            },
            "payments.products.secret": {
                "displayName": "Secret", "customerType": "user", "serverOnly": true,
                "prices": { "once": { "USD": "1" } },
            },
            "payments.products.crew-plan": {
                "displayName": "Crew", "customerType": "team",
                "prices": { "monthly": { "USD": "20", "interval": [1, "month"] } },
            },
        }),
    )
    .await;
}

fn ids(list: &serde_json::Value) -> Vec<String> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap_or("(inline)").to_string())
        .collect()
}

#[tokio::test]
async fn products_are_granted_listed_replaced_within_their_line_and_canceled() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    products(&app, &p).await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let products = format!("/payments/products/user/{ada_id}");
    let credits = format!("/payments/items/user/{ada_id}/credits");

    let granted = server
        .post(&products, json!({ "product_id": "pro" }))
        .await
        .ok();
    assert_eq!(granted["success"], true);
    let subscription_id = granted["subscription_id"].as_str().unwrap().to_string();
    assert_eq!(server.get(&credits).await.ok()["quantity"], 100);
    let list = ada.get(&products).await.ok();
    assert_eq!(list["is_paginated"], true);
    assert_eq!(list["pagination"], json!({ "next_cursor": null }));
    let pro = &list["items"][0];
    assert_eq!(pro["id"], "pro");
    assert_eq!(pro["quantity"], 1);
    assert_eq!(pro["type"], "subscription");
    assert_eq!(pro["product"]["display_name"], "Pro");
    assert_eq!(
        pro["product"]["prices"],
        json!({ "monthly": { "USD": "9.99", "interval": [1, "month"] } })
    );
    assert_eq!(
        pro["subscription"]["subscription_id"],
        subscription_id.as_str()
    );
    assert_eq!(pro["subscription"]["cancel_at_period_end"], false);
    assert_eq!(pro["subscription"]["is_cancelable"], true);
    // A month on, by the calendar.
    let end = pro["subscription"]["current_period_end"].as_str().unwrap();
    assert!(end.ends_with('Z') && end.len() == 24, "{end}");
    assert_eq!(
        pro["switch_options"],
        json!([{ "product_id": "business", "product": {
            "display_name": "Business", "customer_type": "user", "stackable": false, "server_only": false,
            "included_items": { "credits": { "quantity": 1000, "repeat": "never", "expires": "when-purchase-expires" } },
            "client_metadata": null, "client_read_only_metadata": null, "server_metadata": null,
            "prices": { "monthly": { "USD": "49", "interval": [1, "month"] }, "yearly": { "USD": "490", "interval": [1, "year"] } },
        } }])
    );

    // Not twice; a stackable pack as often as wanted; an add-on once its base is owned.
    let again = server.post(&products, json!({ "product_id": "pro" })).await;
    again.known_error(400, "PRODUCT_ALREADY_GRANTED");
    assert_eq!(
        again.message(),
        format!("Customer with ID \"{ada_id}\" already owns product \"pro\".")
    );
    server
        .post(&products, json!({ "product_id": "pack", "quantity": 2 }))
        .await
        .ok();
    server
        .post(&products, json!({ "product_id": "pack" }))
        .await
        .ok();
    assert_eq!(server.get(&credits).await.ok()["quantity"], 250);
    server
        .post(&products, json!({ "product_id": "extra" }))
        .await
        .ok();
    let not_stackable = server
        .post(&products, json!({ "product_id": "secret", "quantity": 2 }))
        .await;
    assert_eq!(
        (not_stackable.status, not_stackable.text.as_str()),
        (400, "This product is not stackable; quantity must be 1")
    );
    server
        .post(&products, json!({ "product_id": "secret" }))
        .await
        .ok();

    // Business replaces Pro in the plans line: Pro ends now, and its credits with it.
    server
        .post(&products, json!({ "product_id": "business" }))
        .await
        .ok();
    assert_eq!(server.get(&credits).await.ok()["quantity"], 1150);
    let list = server.get(&products).await.ok();
    assert_eq!(ids(&list), ["business", "extra", "pack", "secret"]);
    assert_eq!(list["items"][2]["quantity"], 3);
    assert_eq!(list["items"][2]["type"], "one_time");
    assert!(list["items"][2]["subscription"].is_null());
    // Clients see no server-only product.
    assert_eq!(
        ids(&ada.get(&products).await.ok()),
        ["business", "extra", "pack"]
    );
    // Pages by product id.
    let page = server.get(&format!("{products}?limit=2")).await.ok();
    assert_eq!(ids(&page), ["business", "extra"]);
    assert_eq!(page["pagination"]["next_cursor"], "pack");
    let rest = server
        .get(&format!("{products}?limit=2&cursor=pack"))
        .await
        .ok();
    assert_eq!(ids(&rest), ["pack", "secret"]);
    assert_eq!(rest["pagination"]["next_cursor"], serde_json::Value::Null);
    let bad = server.get(&format!("{products}?cursor=nope")).await;
    assert_eq!((bad.status, bad.text.as_str()), (400, "Invalid cursor"));

    // Switch the plan back (the client may, for their own plan), then cancel it: it runs to the
    // end of its period, no longer cancelable.
    ada.post(
        &format!("{products}/switch"),
        json!({ "from_product_id": "business", "to_product_id": "pro" }),
    )
    .await
    .ok();
    assert_eq!(
        server.get(&credits).await.ok()["quantity"],
        250,
        "business's credits went, pro's came"
    );
    ada.delete(&format!("{products}/pro")).await.ok();
    let pro = &server.get(&products).await.ok()["items"][2];
    assert_eq!(pro["id"], "pro");
    assert_eq!(pro["subscription"]["cancel_at_period_end"], true);
    assert_eq!(pro["subscription"]["is_cancelable"], false);
    let twice = ada.delete(&format!("{products}/pro")).await;
    assert_eq!(
        (twice.status, twice.text.as_str()),
        (
            400,
            "This product is a one time purchase and cannot be canceled."
        )
    );
    let one_time = server.delete(&format!("{products}/pack")).await;
    assert_eq!(one_time.status, 400);
    let unowned = server.delete(&format!("{products}/business")).await;
    assert_eq!(
        (unowned.status, unowned.text.as_str()),
        (400, "Customer does not have this product.")
    );

    // What products include is not a change by hand.
    let by_hand = app
        .admin(&p)
        .get("/internal/payments/transactions?type=manual-item-quantity-change")
        .await
        .ok();
    assert_eq!(by_hand["transactions"], json!([]));

    // Every purchase and change is an event.
    let kinds: Vec<(String,)> = sqlx::query_as(
        "SELECT kind FROM events WHERE project_id = $1 AND kind LIKE 'purchase.%' ORDER BY position",
    )
    .bind(&p.id)
    .fetch_all(&app.core.db.pool)
    .await
    .unwrap();
    let kinds: Vec<&str> = kinds.iter().map(|(k,)| k.as_str()).collect();
    assert_eq!(
        kinds,
        [
            // pro, the packs, extra, secret; business replaces pro; the switch; the cancel.
            "purchase.created",
            "purchase.created",
            "purchase.created",
            "purchase.created",
            "purchase.created",
            "purchase.updated",
            "purchase.created",
            "purchase.updated",
            "purchase.updated",
        ]
    );
}

#[tokio::test]
async fn product_errors_are_stacks() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    products(&app, &p).await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let products = format!("/payments/products/user/{ada_id}");

    let missing = server
        .post(&products, json!({ "product_id": "gold" }))
        .await;
    missing.known_error(400, "PRODUCT_DOES_NOT_EXIST");
    assert_eq!(
        missing.body["details"],
        json!({ "product_id": "gold", "context": null })
    );
    assert_eq!(
        missing.message(),
        "Product with ID \"gold\" does not exist."
    );
    let item = server
        .post(&products, json!({ "product_id": "credits" }))
        .await;
    assert_eq!(item.body["details"]["context"], "item_exists");
    let team_plan = server
        .post(&products, json!({ "product_id": "crew-plan" }))
        .await;
    team_plan.known_error(400, "PRODUCT_CUSTOMER_TYPE_DOES_NOT_MATCH");
    assert_eq!(
        team_plan.body["details"],
        json!({ "product_id": "crew-plan", "customer_id": ada_id, "product_customer_type": "team", "actual_customer_type": "user" })
    );
    let addon = server
        .post(&products, json!({ "product_id": "extra" }))
        .await;
    assert_eq!(
        (addon.status, addon.text.as_str()),
        (
            400,
            "This product is an add-on to a product that the customer does not have"
        )
    );
    let both = server
        .post(&products, json!({ "product_id": "pro", "product_inline": { "display_name": "X", "customer_type": "user", "prices": {}, "included_items": {} } }))
        .await;
    assert_eq!(
        (both.status, both.text.as_str()),
        (400, "Cannot specify both product_id and product_inline!")
    );
    let neither = server.post(&products, json!({})).await;
    assert_eq!(
        (neither.status, neither.text.as_str()),
        (400, "Must specify either product_id or product_inline!")
    );
    let path = products.clone();
    server
        .post(&products, json!({ "product_inline": { "display_name": "X", "customer_type": "user", "prices": { "p": { "USD": "1.999" } }, "included_items": {} }, "quantity": 0 }))
        .await
        .schema_error(
            "POST",
            &path,
            &[
                "body.product_inline.prices.p.USD: money amounts are written as <number> or <number>.<number>, with at most 2 decimals for USD and no leading zeros",
                "body.quantity must be greater than or equal to 1",
            ],
        );
    server
        .get("/payments/products/user/00000000-0000-4000-8000-000000000000")
        .await
        .known_error(404, "USER_NOT_FOUND");
    // Clients grant nothing and never see a server-only product.
    ada.post(&products, json!({ "product_id": "pack" }))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    let secret = ada
        .post(
            "/payments/purchases/create-purchase-url",
            json!({ "customer_type": "user", "customer_id": ada_id, "product_id": "secret" }),
        )
        .await;
    assert_eq!(
        secret.body["details"],
        json!({ "product_id": "secret", "context": "server_only" })
    );
    let (bob_id, _) = app.signed_up(&p, "bob@example.com").await;
    let others = ada.get(&format!("/payments/products/user/{bob_id}")).await;
    assert_eq!(
        (others.status, others.text.as_str()),
        (
            403,
            "Clients can only access their own user or team products."
        )
    );
    // An inline product from the server, with its items.
    server
        .post(
            &products,
            json!({ "product_inline": {
                "display_name": "Launch bonus", "customer_type": "user",
                "prices": {}, "included_items": { "credits": { "quantity": 7 } },
            } }),
        )
        .await
        .ok();
    let list = server.get(&products).await.ok();
    assert_eq!(list["items"][0]["id"], serde_json::Value::Null);
    assert_eq!(list["items"][0]["product"]["display_name"], "Launch bonus");
    assert_eq!(list["items"][0]["product"]["server_only"], true);
    assert_eq!(
        server
            .get(&format!("/payments/items/user/{ada_id}/credits"))
            .await
            .ok()["quantity"],
        7
    );
    // Purchases blocked: no new purchase URL, no switch.
    app.configure(&p, json!({ "payments.blockNewPurchases": true }))
        .await;
    let blocked = ada
        .post(
            "/payments/purchases/create-purchase-url",
            json!({ "customer_type": "user", "customer_id": ada_id, "product_id": "pack" }),
        )
        .await;
    blocked.known_error(403, "NEW_PURCHASES_BLOCKED");
}

#[tokio::test]
async fn a_test_mode_purchase_grants_the_product_records_it_and_mails_a_receipt() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    products(&app, &p).await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;

    let untrusted = ada
        .post(
            "/payments/purchases/create-purchase-url",
            json!({ "customer_type": "user", "customer_id": ada_id, "product_id": "pro", "return_url": "https://evil.example/" }),
        )
        .await;
    untrusted.known_error(400, "REDIRECT_URL_NOT_WHITELISTED");
    let made = ada
        .post(
            "/payments/purchases/create-purchase-url",
            json!({ "customer_type": "user", "customer_id": ada_id, "product_id": "pro" }),
        )
        .await
        .ok();
    let url = made["url"].as_str().unwrap();
    let prefix = format!("{}/handler/{}/purchase/", app.core.public_url, p.id);
    assert!(url.starts_with(&prefix), "{url}");
    let full_code = url[prefix.len()..].to_string();
    assert!(full_code.starts_with(&format!("{}_", p.id)));

    let anon = app.anon();
    let shown = anon
        .post(
            "/payments/purchases/validate-code",
            json!({ "full_code": full_code }),
        )
        .await
        .ok();
    assert_eq!(shown["project_id"], p.id.as_str());
    assert_eq!(shown["test_mode"], true);
    assert_eq!(shown["already_bought_non_stackable"], false);
    assert_eq!(shown["conflicting_products"], json!([]));
    assert_eq!(shown["product"]["display_name"], "Pro");
    let valid = anon
        .get(&format!(
            "/payments/purchases/validate-code?full_code={full_code}"
        ))
        .await
        .ok();
    assert_eq!(valid, json!({ "valid": true }));

    let wrong_price = anon
        .post(
            "/internal/payments/test-mode-purchase-session",
            json!({ "full_code": full_code, "price_id": "weekly" }),
        )
        .await;
    assert_eq!(
        (wrong_price.status, wrong_price.text.as_str()),
        (
            400,
            "Price not found on product associated with this purchase code"
        )
    );
    anon.post(
        "/internal/payments/test-mode-purchase-session",
        json!({ "full_code": full_code, "price_id": "monthly" }),
    )
    .await
    .ok();
    let list = ada
        .get(&format!("/payments/products/user/{ada_id}"))
        .await
        .ok();
    assert_eq!(ids(&list), ["pro"]);
    anon.post(
        "/internal/payments/test-mode-purchase-session",
        json!({ "full_code": full_code, "price_id": "monthly" }),
    )
    .await
    .known_error(409, "VERIFICATION_CODE_ALREADY_USED");

    // The receipt, to the buyer.
    let email = server.get("/emails/outbox?limit=1").await.ok()["items"][0].clone();
    assert_eq!(email["to"]["user_id"], ada_id.as_str());
    assert_eq!(email["subject"], "Your receipt from Test project");
    assert!(
        email["text"]
            .as_str()
            .unwrap()
            .contains("$9.99 / month (test mode, nothing was charged) for Pro"),
        "{}",
        email["text"]
    );

    // Admins see the purchase as a test-mode transaction, and a change by hand beside it.
    server
        .post(
            &change(&format!("user/{ada_id}"), "credits", false),
            json!({ "delta": 5 }),
        )
        .await
        .ok();
    let admin = app.admin(&p);
    let t = admin.get("/internal/payments/transactions").await.ok();
    assert_eq!(t["next_cursor"], serde_json::Value::Null);
    let list = t["transactions"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0]["type"], "manual-item-quantity-change");
    assert_eq!(list[0]["entries"][0]["quantity"], 5);
    assert_eq!(list[1]["type"], "purchase");
    assert_eq!(list[1]["test_mode"], true);
    assert_eq!(
        list[1]["entries"].as_array().unwrap().len(),
        1,
        "test mode moves no money"
    );
    assert_eq!(list[1]["entries"][0]["type"], "product_grant");
    assert_eq!(list[1]["entries"][0]["product_id"], "pro");
    assert_eq!(list[1]["entries"][0]["price_id"], "monthly");
    let purchases = admin
        .get("/internal/payments/transactions?type=purchase&limit=1")
        .await
        .ok();
    assert_eq!(purchases["transactions"].as_array().unwrap().len(), 1);
    assert_eq!(purchases["next_cursor"], serde_json::Value::Null);
    let page = admin
        .get("/internal/payments/transactions?limit=1")
        .await
        .ok();
    let next = page["next_cursor"].as_str().unwrap().to_string();
    let second = admin
        .get(&format!(
            "/internal/payments/transactions?limit=1&cursor={next}"
        ))
        .await
        .ok();
    assert_eq!(second["transactions"][0]["type"], "purchase");
    let teams = admin
        .get("/internal/payments/transactions?customer_type=team")
        .await
        .ok();
    assert_eq!(teams["transactions"], json!([]));
    server
        .get("/internal/payments/transactions")
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");

    // The period's end renews it (test mode: Gatehouse renews it itself), and the monthly
    // credits come again.
    let jobs: Vec<(String,)> = sqlx::query_as(
        "SELECT payload FROM jobs WHERE project_id = $1 AND kind = 'payments.purchase' ORDER BY run_at, payload",
    )
    .bind(&p.id)
    .fetch_all(&app.core.db.pool)
    .await
    .unwrap();
    assert_eq!(jobs.len(), 2, "the renewal and the credits' repeat");
    for (payload,) in &jobs {
        let payload: serde_json::Value = serde_json::from_str(payload).unwrap();
        app.core.run_purchase_job(&p.id, &payload).await.unwrap();
    }
    let credits = format!("/payments/items/user/{ada_id}/credits");
    assert_eq!(server.get(&credits).await.ok()["quantity"], 205);
    let t = admin
        .get("/internal/payments/transactions?type=subscription-renewal")
        .await
        .ok();
    assert_eq!(t["transactions"][0]["type"], "subscription-renewal");
    assert_eq!(t["transactions"][0]["test_mode"], true);
    // Run again, the same job renews nothing twice.
    let (payload,) = &jobs[0];
    let payload: serde_json::Value = serde_json::from_str(payload).unwrap();
    app.core.run_purchase_job(&p.id, &payload).await.unwrap();
    let t = admin
        .get("/internal/payments/transactions?type=subscription-renewal")
        .await
        .ok();
    assert_eq!(t["transactions"].as_array().unwrap().len(), 1);

    // A refund of the whole subscription (recorded in test mode, no money moved): the plan and
    // the credits that went with it are gone, and the refund is a transaction.
    let list = server
        .get(&format!("/payments/products/user/{ada_id}"))
        .await
        .ok();
    let sub_id = list["items"][0]["subscription"]["subscription_id"]
        .as_str()
        .unwrap()
        .to_string();
    let refund = "/internal/payments/transactions/refund";
    let whole = |id: &str, kind: &str, quantity: i64| json!({ "type": kind, "id": id, "refund_entries": [{ "entry_index": 0, "quantity": quantity, "amount_usd": "0" }] });
    admin
        .post(refund, whole(&sub_id, "one-time-purchase", 1))
        .await
        .known_error(404, "ONE_TIME_PURCHASE_NOT_FOUND");
    admin
        .post(refund, whole(&sub_id, "subscription", 2))
        .await
        .schema_error("POST", refund, &["body.refund_entries must return the whole purchase, a quantity of 1 in all: Gatehouse refunds whole purchases"]);
    let too_much = json!({ "type": "subscription", "id": sub_id, "refund_entries": [{ "entry_index": 0, "quantity": 1, "amount_usd": "10" }] });
    admin.post(refund, too_much).await.schema_error(
        "POST",
        refund,
        &["Refund amount cannot exceed the charged amount."],
    );
    assert_eq!(
        admin
            .post(refund, whole(&sub_id, "subscription", 1))
            .await
            .ok(),
        json!({ "success": true })
    );
    admin
        .post(refund, whole(&sub_id, "subscription", 1))
        .await
        .known_error(400, "SUBSCRIPTION_ALREADY_REFUNDED");
    assert_eq!(
        server
            .get(&format!("/payments/products/user/{ada_id}"))
            .await
            .ok()["items"],
        json!([])
    );
    assert_eq!(server.get(&credits).await.ok()["quantity"], 5);
    let t = admin
        .get("/internal/payments/transactions?type=refund")
        .await
        .ok();
    let r = &t["transactions"][0];
    assert_eq!(r["id"], format!("{sub_id}:refund"));
    assert_eq!(r["test_mode"], true);
    assert_eq!(
        r["entries"],
        json!([{ "type": "product_revocation", "adjusted_transaction_id": sub_id, "adjusted_entry_index": 0, "quantity": 1 }])
    );
    let t = admin
        .get("/internal/payments/transactions?type=purchase")
        .await
        .ok();
    assert_eq!(
        t["transactions"][0]["adjusted_by"],
        json!([{ "transaction_id": format!("{sub_id}:refund"), "entry_index": 0 }])
    );
    server
        .post(refund, whole(&sub_id, "subscription", 1))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
}

#[tokio::test]
async fn a_free_trial_starts_trialing_and_a_team_admin_buys_for_the_team() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    products(&app, &p).await;
    app.configure(
        &p,
        json!({
            "payments.items.seats": { "customerType": "team" },
            "payments.products.trial-plan": {
                "displayName": "Trial plan", "customerType": "user",
                "prices": { "monthly": { "USD": "12", "interval": [1, "month"], "freeTrial": [14, "day"] } },
            },
            "payments.products.crew-plan.includedItems": { "seats": { "quantity": 5, "expires": "when-purchase-expires" } },
        }),
    )
    .await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;

    // Fourteen days free: the first period is the trial.
    let before = gatehouse_core::now_ms();
    server
        .post(
            &format!("/payments/products/user/{ada_id}"),
            json!({ "product_id": "trial-plan" }),
        )
        .await
        .ok();
    let (status, end): (String, i64) = sqlx::query_as(
        "SELECT status, current_period_end FROM purchases WHERE project_id = $1 AND product_id = 'trial-plan'",
    )
    .bind(&p.id)
    .fetch_one(&app.core.db.pool)
    .await
    .unwrap();
    assert_eq!(status, "trialing");
    let days = (end - before) as f64 / 86_400_000.0;
    assert!(
        (13.99..14.01).contains(&days),
        "the trial lasts {days} days"
    );
    let list = server
        .get(&format!("/payments/products/user/{ada_id}"))
        .await
        .ok();
    assert_eq!(list["items"][0]["subscription"]["is_cancelable"], true);

    // A team admin buys the team's plan on the checkout; the team gets its seats.
    let crew = server
        .post(
            "/teams",
            json!({ "display_name": "Crew", "creator_user_id": ada_id }),
        )
        .await
        .ok();
    let crew_id = crew["id"].as_str().unwrap();
    let url = ada
        .post(
            "/payments/purchases/create-purchase-url",
            json!({ "customer_type": "team", "customer_id": crew_id, "product_id": "crew-plan" }),
        )
        .await
        .ok()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let full_code = url.rsplit('/').next().unwrap().to_string();
    app.anon()
        .post(
            "/internal/payments/test-mode-purchase-session",
            json!({ "full_code": full_code, "price_id": "monthly" }),
        )
        .await
        .ok();
    let team_products = ada
        .get(&format!("/payments/products/team/{crew_id}"))
        .await
        .ok();
    assert_eq!(ids(&team_products), ["crew-plan"]);
    assert_eq!(
        ada.get(&format!("/payments/items/team/{crew_id}/seats"))
            .await
            .ok()["quantity"],
        5
    );
    // The receipt goes to the admin who bought it.
    let email = server.get("/emails/outbox?limit=1").await.ok()["items"][0].clone();
    assert_eq!(email["to"]["user_id"], ada_id.as_str());
    // A member who is not an admin cannot buy for the team.
    let (bob_id, bob) = app.signed_up(&p, "bob@example.com").await;
    server
        .post(&format!("/team-memberships/{crew_id}/{bob_id}"), json!({}))
        .await
        .ok();
    bob.post(
        "/payments/purchases/create-purchase-url",
        json!({ "customer_type": "team", "customer_id": crew_id, "product_id": "crew-plan" }),
    )
    .await
    .known_error(401, "TEAM_PERMISSION_REQUIRED");
}
