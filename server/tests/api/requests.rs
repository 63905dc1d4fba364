//! Request handling every endpoint shares: headers, access types, keys, errors.

use serde_json::json;

use crate::helpers::TestApp;

#[tokio::test]
async fn welcome_names_the_authentication_it_saw() {
    let app = TestApp::spawn().await;
    let none = app.anon().get("/").await;
    assert_eq!(none.status, 200);
    assert!(none.text.contains("Authentication: none"), "{}", none.text);
    let server = app.server(&app.internal()).get("/").await;
    assert!(
        server.text.contains("server access to project internal"),
        "{}",
        server.text
    );
}

#[tokio::test]
async fn unknown_route_is_a_404_that_says_so() {
    let app = TestApp::spawn().await;
    let r = app.server(&app.internal()).get("/no/such/thing").await;
    assert_eq!(r.status, 404);
    assert!(
        r.message().contains("GET /api/v1/no/such/thing"),
        "{}",
        r.text
    );
    assert_eq!(app.anon().get("/health").await.status, 200);
}

#[tokio::test]
async fn key_without_access_type_is_rejected() {
    let app = TestApp::spawn().await;
    let r = app
        .server(&app.internal())
        .without("x-stack-access-type")
        .get("/users")
        .await;
    r.known_error(400, "PROJECT_KEY_WITHOUT_ACCESS_TYPE");
}

#[tokio::test]
async fn endpoint_needing_a_project_without_access_type_is_rejected() {
    let app = TestApp::spawn().await;
    app.anon()
        .get("/users")
        .await
        .known_error(400, "ACCESS_TYPE_REQUIRED");
}

#[tokio::test]
async fn invalid_access_type_is_rejected() {
    let app = TestApp::spawn().await;
    let r = app
        .anon()
        .header("x-stack-access-type", "superuser")
        .header("x-stack-project-id", "internal")
        .get("/users")
        .await;
    r.known_error(400, "INVALID_ACCESS_TYPE");
    assert_eq!(r.body["details"]["accessType"], "superuser");
}

#[tokio::test]
async fn access_type_without_project_id_is_rejected() {
    let app = TestApp::spawn().await;
    app.anon()
        .header("x-stack-access-type", "client")
        .get("/users/me")
        .await
        .known_error(400, "ACCESS_TYPE_WITHOUT_PROJECT_ID");
}

#[tokio::test]
async fn unknown_project_is_current_project_not_found() {
    let app = TestApp::spawn().await;
    let r = app
        .anon()
        .header("x-stack-access-type", "client")
        .header("x-stack-project-id", "nope")
        .get("/projects/current")
        .await;
    r.known_error(400, "CURRENT_PROJECT_NOT_FOUND");
}

#[tokio::test]
async fn wrong_keys_get_each_keys_own_error() {
    let app = TestApp::spawn().await;
    let p = app.internal();
    app.client(&p)
        .header("x-stack-publishable-client-key", "pck_wrong")
        .get("/projects/current")
        .await
        .known_error(401, "INVALID_PUBLISHABLE_CLIENT_KEY");
    app.server(&p)
        .header("x-stack-secret-server-key", "ssk_wrong")
        .get("/users")
        .await
        .known_error(401, "INVALID_SECRET_SERVER_KEY");
    app.admin(&p)
        .header("x-stack-super-secret-admin-key", "sak_wrong")
        .get("/internal/projects/current")
        .await
        .known_error(401, "INVALID_SUPER_SECRET_ADMIN_KEY");
    app.server(&p)
        .without("x-stack-secret-server-key")
        .get("/users")
        .await
        .known_error(401, "SERVER_AUTHENTICATION_REQUIRED");
    app.admin(&p)
        .without("x-stack-super-secret-admin-key")
        .get("/internal/projects/current")
        .await
        .known_error(401, "ADMIN_AUTHENTICATION_REQUIRED");
    // A key of one kind is no key of another.
    app.server(&p)
        .header("x-stack-secret-server-key", &p.pck)
        .get("/users")
        .await
        .known_error(401, "INVALID_SECRET_SERVER_KEY");
}

#[tokio::test]
async fn keys_of_one_project_do_not_open_another() {
    let app = TestApp::spawn().await;
    let a = app.project().await;
    let b = app.project().await;
    let mixed = crate::helpers::Project {
        id: b.id.clone(),
        ..a.clone()
    };
    app.server(&mixed)
        .get("/users")
        .await
        .known_error(401, "INVALID_SECRET_SERVER_KEY");
    // Nor does a user id of another project resolve.
    let user = app
        .server(&a)
        .post("/users", json!({ "primary_email": "a@example.com" }))
        .await
        .ok();
    app.server(&b)
        .get(&format!("/users/{}", user["id"].as_str().unwrap()))
        .await
        .known_error(404, "USER_NOT_FOUND");
}

#[tokio::test]
async fn client_access_to_a_server_endpoint_is_insufficient() {
    let app = TestApp::spawn().await;
    let r = app.client(&app.internal()).get("/users").await;
    r.known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    assert_eq!(r.body["details"]["actual_access_type"], "client");
    assert_eq!(
        r.body["details"]["allowed_access_types"],
        json!(["server", "admin"])
    );
}

#[tokio::test]
async fn override_error_status_answers_200_with_the_real_status_in_a_header() {
    let app = TestApp::spawn().await;
    let r = app
        .client(&app.internal())
        .header("x-stack-override-error-status", "true")
        .get("/users")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("x-stack-actual-status").unwrap(), "401");
    assert_eq!(
        r.headers.get("x-stack-known-error").unwrap(),
        "INSUFFICIENT_ACCESS_TYPE"
    );
    // Successes are untouched.
    let ok = app
        .client(&app.internal())
        .header("x-stack-override-error-status", "true")
        .get("/projects/current")
        .await;
    assert!(ok.headers.get("x-stack-actual-status").is_none());
}

#[tokio::test]
async fn hexclave_headers_work_like_stack_headers() {
    let app = TestApp::spawn().await;
    let r = app
        .anon()
        .header("x-hexclave-access-type", "server")
        .header("x-hexclave-project-id", "internal")
        .header("x-hexclave-secret-server-key", crate::helpers::SSK)
        .header("x-hexclave-override-error-status", "true")
        .get("/users?limit=0")
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.headers.get("x-hexclave-actual-status").unwrap(), "400");
    assert_eq!(
        r.headers.get("x-hexclave-known-error").unwrap(),
        "SCHEMA_ERROR"
    );
    let ok = app
        .anon()
        .header("x-hexclave-access-type", "server")
        .header("x-hexclave-project-id", "internal")
        .header("x-hexclave-secret-server-key", crate::helpers::SSK)
        .get("/users")
        .await;
    assert_eq!(ok.status, 200, "{}", ok.text);
}

#[tokio::test]
async fn bad_bodies_are_schema_errors_that_name_the_field() {
    let app = TestApp::spawn().await;
    let p = app.internal();
    let r = app
        .client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "x@example.com", "password": ["12345678"] }),
        )
        .await;
    r.known_error(400, "SCHEMA_ERROR");
    assert!(r.message().contains("body.password"), "{}", r.text);
    let r = app
        .client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "password": "long enough pw" }),
        )
        .await;
    r.known_error(400, "SCHEMA_ERROR");
    assert!(r.message().contains("email"), "{}", r.text);
    let r = app
        .client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "not-an-email", "password": "long enough pw" }),
        )
        .await;
    r.known_error(400, "SCHEMA_ERROR");
    assert!(r.message().contains("body.email"), "{}", r.text);
    let r = app
        .server(&p)
        .post(
            "/users",
            json!({ "primary_email": "a@example.com", "nickname": "x" }),
        )
        .await;
    r.known_error(400, "SCHEMA_ERROR");
    assert!(r.message().contains("nickname"), "{}", r.text);
    app.client(&p)
        .raw(reqwest::Method::POST, "/auth/password/sign-in", "{not json")
        .await
        .known_error(400, "BODY_PARSING_ERROR");
}

#[tokio::test]
async fn a_project_can_require_publishable_client_keys() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    // Keyless client access works by default…
    app.client(&p)
        .without("x-stack-publishable-client-key")
        .get("/projects/current")
        .await
        .ok();
    app.admin(&p)
        .patch(
            "/internal/config/override/project",
            json!({ "config_override_string": "{\"project.requirePublishableClientKey\": true}" }),
        )
        .await
        .ok();
    // A setting of Stack's config tree, not of its legacy project object.
    app.admin(&p)
        .patch(
            "/internal/projects/current",
            json!({ "config": { "require_publishable_client_key": true } }),
        )
        .await
        .schema_error(
            "PATCH",
            "/internal/projects/current",
            &["body.config contains unknown properties: require_publishable_client_key"],
        );
    // …until the project asks for a key.
    let r = app
        .client(&p)
        .without("x-stack-publishable-client-key")
        .get("/projects/current")
        .await;
    r.known_error(401, "PUBLISHABLE_CLIENT_KEY_REQUIRED_FOR_PROJECT");
    app.client(&p).get("/projects/current").await.ok();
}

#[tokio::test]
async fn browsers_on_any_origin_may_call_the_api_as_stacks_cors_allows() {
    let app = TestApp::spawn().await;
    let http = reqwest::Client::new();
    let pre = http
        .request(
            reqwest::Method::OPTIONS,
            format!("{}/api/v1/users/me", app.base),
        )
        .header("origin", "http://app.example")
        .header("access-control-request-method", "GET")
        .header(
            "access-control-request-headers",
            "x-stack-project-id, x-hexclave-access-type, x-stack-access-token",
        )
        .send()
        .await
        .unwrap();
    assert!(pre.status().is_success(), "{}", pre.status());
    assert_eq!(pre.headers()["access-control-allow-origin"], "*");
    assert!(pre.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("PATCH"));
    let r = http
        .get(format!("{}/api/v1/users/me", app.base))
        .header("origin", "http://app.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["access-control-allow-origin"], "*");
    assert!(r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .contains("x-stack-known-error"));
    // The pages are not the API: no CORS there.
    let page = http
        .get(format!("{}/handler/internal/sign-in", app.base))
        .header("origin", "http://app.example")
        .send()
        .await
        .unwrap();
    assert!(page.headers().get("access-control-allow-origin").is_none());
}
