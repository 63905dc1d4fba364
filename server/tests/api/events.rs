//! The record of changes: each change writes exactly its events, in its transaction, with who
//! made it; a refused change writes none. (Users, teams and memberships for now: see the
//! README's "The record of changes" for what is recorded so far.)

use serde_json::{json, Value};

use crate::helpers::{Project, TestApp, PASSWORD};

/// The project's events after `after`: (kind, object id, actor type, actor id).
async fn events(
    app: &TestApp,
    p: &Project,
    after: i64,
) -> Vec<(String, String, String, Option<String>)> {
    app.core
        .events_after(&p.id, after, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.object_id, e.actor_type, e.actor_id))
        .collect()
}

/// The id of the session a signed-in client request carries.
async fn current_session(client: &crate::helpers::Req) -> String {
    let list = client.get("/auth/sessions?user_id=me").await.ok();
    let current = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["is_current_session"] == true);
    current.expect("a current session")["id"]
        .as_str()
        .unwrap()
        .to_string()
}

async fn last_position(app: &TestApp, p: &Project) -> i64 {
    app.core
        .events_after(&p.id, 0, 100_000)
        .await
        .unwrap()
        .last()
        .map_or(0, |e| e.position)
}

fn ev(
    kind: &str,
    object: &str,
    actor: &str,
    actor_id: Option<&str>,
) -> (String, String, String, Option<String>) {
    (
        kind.into(),
        object.into(),
        actor.into(),
        actor_id.map(str::to_string),
    )
}

#[tokio::test]
async fn each_user_change_writes_its_event_and_a_refused_one_none() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let admin = app.admin(&p);

    // The project's start: made by its dashboard admin, with its first config and key set.
    let start = events(&app, &p, 0).await;
    let kinds: Vec<&str> = start.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "project.created",
            "config.updated",
            "project_api_key.created"
        ]
    );
    assert!(start[..2].iter().all(|e| e.1 == p.id));
    assert!(start.iter().all(|e| e.2 == "admin" && e.3.is_some()));
    let begun = last_position(&app, &p).await;

    // Sign-up: the new user made themselves, and their first session.
    let t = app.sign_up(&p, "ada@example.com").await;
    let ada = t["user_id"].as_str().unwrap().to_string();
    let ada_client = app.client(&p).token(t["access_token"].as_str().unwrap());
    let first = current_session(&ada_client).await;
    assert_eq!(
        events(&app, &p, begun).await,
        [
            ev("user.created", &ada, "user", Some(&ada)),
            ev("session.created", &first, "user", Some(&ada)),
        ]
    );

    // The server makes a user; an admin changes it; the user changes themselves.
    let mut at = last_position(&app, &p).await;
    let bob = server
        .post("/users", json!({ "primary_email": "bob@example.com" }))
        .await
        .ok();
    let bob = bob["id"].as_str().unwrap().to_string();
    admin
        .patch(&format!("/users/{bob}"), json!({ "display_name": "Bob" }))
        .await
        .ok();
    ada_client
        .patch("/users/me", json!({ "display_name": "Ada" }))
        .await
        .ok();
    assert_eq!(
        events(&app, &p, at).await,
        [
            ev("user.created", &bob, "server", None),
            ev("user.updated", &bob, "admin", None),
            ev("user.updated", &ada, "user", Some(&ada)),
        ]
    );

    // Refused changes write nothing: a field the client may not set, an address in use, an
    // unknown user.
    at = last_position(&app, &p).await;
    ada_client
        .patch("/users/me", json!({ "server_metadata": { "x": 1 } }))
        .await
        .known_error(400, "SCHEMA_ERROR");
    app.client(&p)
        .post(
            "/auth/password/sign-up",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .known_error(409, "USER_EMAIL_ALREADY_EXISTS");
    server
        .delete("/users/00000000-0000-4000-8000-000000000000")
        .await
        .known_error(404, "USER_NOT_FOUND");
    assert_eq!(events(&app, &p, at).await, []);

    // An anonymous user made, then upgraded in place; deletions name the teams the user was in.
    let anon = app
        .client(&p)
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    let anon_id = anon["user_id"].as_str().unwrap().to_string();
    app.client(&p)
        .token(anon["access_token"].as_str().unwrap())
        .post(
            "/auth/password/sign-up",
            json!({ "email": "cy@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    let team = server
        .post("/teams", json!({ "display_name": "Lab" }))
        .await
        .ok();
    let team = team["id"].as_str().unwrap().to_string();
    server
        .post(&format!("/team-memberships/{team}/{bob}"), json!({}))
        .await
        .ok();
    at = last_position(&app, &p).await;
    server.delete(&format!("/users/{bob}")).await.ok();
    assert_eq!(
        events(&app, &p, at).await,
        [ev("user.deleted", &bob, "server", None)]
    );
    let deleted = app.core.events_after(&p.id, at, 10).await.unwrap();
    let data: Value = serde_json::from_str(&deleted[0].data).unwrap();
    assert_eq!(data, json!({ "id": bob, "teams": [{ "id": team }] }));
    let all = events(&app, &p, 0).await;
    assert!(all.contains(&ev("user.created", &anon_id, "user", Some(&anon_id))));
    assert!(all.contains(&ev("user.updated", &anon_id, "user", Some(&anon_id))));

    // Positions count up from 1 without a gap, and each project has its own.
    let positions: Vec<i64> = app
        .core
        .events_after(&p.id, 0, 1000)
        .await
        .unwrap()
        .iter()
        .map(|e| e.position)
        .collect();
    assert_eq!(positions, (1..=positions.len() as i64).collect::<Vec<_>>());
    let other = app.project().await;
    app.sign_up(&other, "ada@example.com").await;
    assert_eq!(
        app.core.events_after(&other.id, 0, 10).await.unwrap()[0].position,
        1
    );
}

#[tokio::test]
async fn team_membership_and_permission_changes_write_their_events() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    app.configure(
        &p,
        json!({ "teams.createPersonalTeamOnSignUp": true, "teams.allowClientTeamCreation": true }),
    )
    .await;
    let begun = last_position(&app, &p).await;
    let id = |v: Value| v["id"].as_str().unwrap().to_string();

    // A sign-up with a personal team: the user, the team, the membership and the creator's
    // default permission, all by the user.
    let t = app.sign_up(&p, "ada@example.com").await;
    let ada = t["user_id"].as_str().unwrap().to_string();
    let by_ada = |kind: &str, object: String| ev(kind, &object, "user", Some(&ada));
    let ada_client = app.client(&p).token(t["access_token"].as_str().unwrap());
    let me = ada_client.get("/users/me").await.ok();
    let personal = me["selected_team_id"].as_str().unwrap().to_string();
    let session = current_session(&ada_client).await;
    assert_eq!(
        events(&app, &p, begun).await,
        [
            by_ada("user.created", ada.clone()),
            by_ada("team.created", personal.clone()),
            by_ada("team_membership.created", format!("{personal}/{ada}")),
            by_ada(
                "team_permission.created",
                format!("{personal}/{ada}/team_admin")
            ),
            by_ada("session.created", session),
        ]
    );

    // The server's team; a member added, given a permission and losing it, removed; the team
    // renamed and deleted.
    let at = last_position(&app, &p).await;
    let bob = id(server.post("/users", json!({})).await.ok());
    // Made by the server, Bob gets his personal team from the server too.
    let bobs = server.get(&format!("/users/{bob}")).await.ok()["selected_team_id"]
        .as_str()
        .unwrap()
        .to_string();
    let lab = id(server
        .post("/teams", json!({ "display_name": "Lab" }))
        .await
        .ok());
    let member = format!("/team-memberships/{lab}/{bob}");
    server.post(&member, json!({})).await.ok();
    let admin = app.admin(&p);
    admin
        .patch(
            &format!("/teams/{lab}"),
            json!({ "display_name": "The Lab" }),
        )
        .await
        .ok();
    let grant = format!("/team-permissions/{lab}/{bob}/$invite_members");
    admin.post(&grant, json!({})).await.ok();
    server.delete(&grant).await.ok();
    // Refused: the grant is gone already; Ada may not rename a team she is not in.
    server
        .delete(&grant)
        .await
        .known_error(401, "TEAM_PERMISSION_NOT_FOUND");
    ada_client
        .patch(&format!("/teams/{lab}"), json!({ "display_name": "Mine" }))
        .await
        .known_error(404, "TEAM_MEMBERSHIP_NOT_FOUND");
    server.delete(&member).await.ok();
    server.delete(&format!("/teams/{lab}")).await.ok();
    let by = |kind: &str, object: String, actor: &str| ev(kind, &object, actor, None);
    assert_eq!(
        events(&app, &p, at).await,
        [
            by("user.created", bob.clone(), "server"),
            by("team.created", bobs.clone(), "server"),
            by("team_membership.created", format!("{bobs}/{bob}"), "server"),
            by(
                "team_permission.created",
                format!("{bobs}/{bob}/team_admin"),
                "server"
            ),
            by("team.created", lab.clone(), "server"),
            by("team_membership.created", format!("{lab}/{bob}"), "server"),
            by(
                "team_permission.created",
                format!("{lab}/{bob}/team_member"),
                "server"
            ),
            by("team.updated", lab.clone(), "admin"),
            by(
                "team_permission.created",
                format!("{lab}/{bob}/$invite_members"),
                "admin"
            ),
            by(
                "team_permission.deleted",
                format!("{lab}/{bob}/$invite_members"),
                "server"
            ),
            by("team_membership.deleted", format!("{lab}/{bob}"), "server"),
            by("team.deleted", lab.clone(), "server"),
        ]
    );

    // A project permission granted and revoked.
    admin
        .post("/project-permission-definitions", json!({ "id": "beta" }))
        .await
        .ok();
    let at = last_position(&app, &p).await;
    let beta = format!("/project-permissions/{bob}/beta");
    server.post(&beta, json!({})).await.ok();
    admin.delete(&beta).await.ok();
    assert_eq!(
        events(&app, &p, at).await,
        [
            by(
                "project_permission.created",
                format!("{bob}/beta"),
                "server"
            ),
            by("project_permission.deleted", format!("{bob}/beta"), "admin"),
        ]
    );

    // Grants follow their definition: renamed, each is taken away and given under the new id;
    // deleted, taken away.
    server.post(&beta, json!({})).await.ok();
    let at = last_position(&app, &p).await;
    admin
        .patch(
            "/project-permission-definitions/beta",
            json!({ "id": "gamma" }),
        )
        .await
        .ok();
    admin
        .delete("/project-permission-definitions/gamma")
        .await
        .ok();
    assert_eq!(
        events(&app, &p, at).await,
        [
            by("config.updated", p.id.clone(), "admin"),
            by("project_permission.deleted", format!("{bob}/beta"), "admin"),
            by(
                "project_permission.created",
                format!("{bob}/gamma"),
                "admin"
            ),
            by("config.updated", p.id.clone(), "admin"),
            by(
                "project_permission.deleted",
                format!("{bob}/gamma"),
                "admin"
            ),
        ]
    );

    // A user's own team: made by them, with them as its first member and admin.
    let at = last_position(&app, &p).await;
    let own = id(ada_client
        .post(
            "/teams",
            json!({ "display_name": "Side project", "creator_user_id": "me" }),
        )
        .await
        .ok());
    assert_eq!(
        events(&app, &p, at).await,
        [
            by_ada("team.created", own.clone()),
            by_ada("team_membership.created", format!("{own}/{ada}")),
            by_ada("team_permission.created", format!("{own}/{ada}/team_admin")),
        ]
    );
}

#[tokio::test]
async fn contact_channel_changes_write_their_events() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "ada@example.com").await;
    let ada = t["user_id"].as_str().unwrap().to_string();
    let client = app.client(&p).token(t["access_token"].as_str().unwrap());
    let at = last_position(&app, &p).await;
    let work = client
        .post(
            "/contact-channels",
            json!({ "user_id": "me", "type": "email", "value": "ada@work.example", "used_for_auth": false }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    client
        .post(
            &format!("/contact-channels/{ada}/{work}/send-verification-code"),
            json!({ "callback_url": "http://localhost:3000/verify" }),
        )
        .await
        .ok();
    let code =
        crate::email_flows::link_code(&crate::email_flows::mail(&app.server(&p), "Verify").await);
    app.client(&p)
        .post("/contact-channels/verify", json!({ "code": code }))
        .await
        .ok();
    app.server(&p)
        .patch(
            &format!("/contact-channels/{ada}/{work}"),
            json!({ "used_for_auth": true }),
        )
        .await
        .ok();
    // Refused: the user has that address already.
    let twice = client
        .post(
            "/contact-channels",
            json!({ "user_id": "me", "type": "email", "value": "ada@work.example", "used_for_auth": false }),
        )
        .await;
    assert_eq!(twice.status, 400, "{}", twice.text);
    client
        .delete(&format!("/contact-channels/{ada}/{work}"))
        .await
        .ok();
    assert_eq!(
        events(&app, &p, at).await,
        [
            ev("contact_channel.created", &work, "user", Some(&ada)),
            ev("contact_channel.updated", &work, "user", Some(&ada)),
            ev("contact_channel.updated", &work, "server", None),
            ev("contact_channel.deleted", &work, "user", Some(&ada)),
        ]
    );

    // A channel made primary changes the user's primary email: the user changed too.
    let at = last_position(&app, &p).await;
    let home = client
        .post(
            "/contact-channels",
            json!({ "user_id": "me", "type": "email", "value": "ada@home.example", "used_for_auth": false, "is_primary": true }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let me = client.get("/users/me").await.ok();
    assert_eq!(me["primary_email"], "ada@home.example");
    client
        .delete(&format!("/contact-channels/{ada}/{home}"))
        .await
        .ok();
    let me = client.get("/users/me").await.ok();
    assert_eq!(me["primary_email"], Value::Null);
    assert_eq!(
        events(&app, &p, at).await,
        [
            ev("user.updated", &ada, "user", Some(&ada)),
            ev("contact_channel.created", &home, "user", Some(&ada)),
            ev("user.updated", &ada, "user", Some(&ada)),
            ev("contact_channel.deleted", &home, "user", Some(&ada)),
        ]
    );
}

#[tokio::test]
async fn api_key_changes_write_their_events_and_never_the_secret() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.configure(&p, json!({ "apiKeys.enabled.user": true }))
        .await;
    let t = app.sign_up(&p, "ada@example.com").await;
    let ada = t["user_id"].as_str().unwrap().to_string();
    let client = app.client(&p).token(t["access_token"].as_str().unwrap());
    let at = last_position(&app, &p).await;
    let make = |description: &'static str| {
        let client = client.clone();
        async move {
            client
                .post(
                    "/user-api-keys",
                    json!({ "user_id": "me", "description": description, "expires_at_millis": null }),
                )
                .await
                .ok()
        }
    };
    let deploy = make("Deploy").await;
    let deploy_id = deploy["id"].as_str().unwrap().to_string();
    app.server(&p)
        .patch(
            &format!("/user-api-keys/{deploy_id}?user_id={ada}"),
            json!({ "description": "Deploys" }),
        )
        .await
        .ok();
    let leaked = make("Leaked").await;
    let leaked_id = leaked["id"].as_str().unwrap().to_string();
    app.anon()
        .post(
            "/integrations/credential-scanning/revoke",
            json!({ "api_key": leaked["value"] }),
        )
        .await
        .ok();
    assert_eq!(
        events(&app, &p, at).await,
        [
            ev("api_key.created", &deploy_id, "user", Some(&ada)),
            ev("api_key.updated", &deploy_id, "server", None),
            ev("api_key.created", &leaked_id, "user", Some(&ada)),
            ev("api_key.updated", &leaked_id, "system", None),
        ]
    );
    let secret = deploy["value"].as_str().unwrap();
    for e in app.core.events_after(&p.id, at, 100).await.unwrap() {
        assert!(!e.data.contains(secret), "{}", e.data);
    }
}

#[tokio::test]
async fn session_changes_write_their_events() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let t = app.sign_up(&p, "ada@example.com").await;
    let ada = t["user_id"].as_str().unwrap().to_string();
    let at = last_position(&app, &p).await;
    // Signing in and out: the user's; a session the server opens, and an admin ends.
    let signed_in = app
        .client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "ada@example.com", "password": PASSWORD }),
        )
        .await
        .ok();
    let client = app
        .client(&p)
        .token(signed_in["access_token"].as_str().unwrap());
    let second = current_session(&client).await;
    client.delete("/auth/sessions/current").await.ok();
    let made = app
        .server(&p)
        .post("/auth/sessions", json!({ "user_id": ada }))
        .await
        .ok();
    let by_server =
        current_session(&app.client(&p).token(made["access_token"].as_str().unwrap())).await;
    app.admin(&p)
        .delete(&format!("/auth/sessions/{by_server}?user_id={ada}"))
        .await
        .ok();
    // Refused: a wrong password opens nothing; the failure itself is recorded.
    app.client(&p)
        .post(
            "/auth/password/sign-in",
            json!({ "email": "ada@example.com", "password": "wrong horse" }),
        )
        .await
        .known_error(400, "EMAIL_PASSWORD_MISMATCH");
    assert_eq!(
        events(&app, &p, at).await,
        [
            ev("session.created", &second, "user", Some(&ada)),
            ev("session.deleted", &second, "user", Some(&ada)),
            ev("session.created", &by_server, "server", None),
            ev("session.deleted", &by_server, "admin", None),
            ev("sign_in.failed", &ada, "client", None),
        ]
    );
    // A new password ends the user's other sessions, each recorded.
    let first = current_session(&app.client(&p).token(t["access_token"].as_str().unwrap())).await;
    let at = last_position(&app, &p).await;
    app.server(&p)
        .patch(
            &format!("/users/{ada}"),
            json!({ "password": "another horse battery" }),
        )
        .await
        .ok();
    assert_eq!(
        events(&app, &p, at).await,
        [
            ev("user.updated", &ada, "server", None),
            ev("session.deleted", &first, "server", None),
        ]
    );
    // The user changes their password themselves: their other session ends.
    let sign_in = || async {
        app.client(&p)
            .post(
                "/auth/password/sign-in",
                json!({ "email": "ada@example.com", "password": "another horse battery" }),
            )
            .await
            .ok()
    };
    let here = sign_in().await;
    let there = sign_in().await;
    let there_id = current_session(
        &app.client(&p)
            .token(there["access_token"].as_str().unwrap()),
    )
    .await;
    let at = last_position(&app, &p).await;
    app.client(&p)
        .token(here["access_token"].as_str().unwrap())
        .post(
            "/auth/password/update",
            json!({ "old_password": "another horse battery", "new_password": PASSWORD }),
        )
        .await
        .ok();
    assert_eq!(
        events(&app, &p, at).await,
        [
            ev("user.updated", &ada, "user", Some(&ada)),
            ev("session.deleted", &there_id, "user", Some(&ada)),
        ]
    );
}

#[tokio::test]
async fn oauth_link_changes_write_their_events() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.configure(
        &p,
        json!({ "auth.oauth.providers.github": {
            "type": "github", "isShared": false, "clientId": "id", "clientSecret": "secret",
            "allowSignIn": true, "allowConnectedAccounts": true,
        }}),
    )
    .await;
    let t = app.sign_up(&p, "ada@example.com").await;
    let ada = t["user_id"].as_str().unwrap().to_string();
    let at = last_position(&app, &p).await;
    let link = app
        .server(&p)
        .post(
            "/oauth-providers",
            json!({ "user_id": ada, "provider_config_id": "github", "account_id": "ada-gh", "allow_sign_in": true, "allow_connected_accounts": true }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let path = format!("/oauth-providers/{ada}/{link}");
    app.client(&p)
        .token(t["access_token"].as_str().unwrap())
        .patch(&path, json!({ "allow_connected_accounts": false }))
        .await
        .ok();
    app.admin(&p).delete(&path).await.ok();
    // Refused: it is gone.
    let gone = app.admin(&p).delete(&path).await;
    assert_eq!(gone.status, 404, "{}", gone.text);
    assert_eq!(
        events(&app, &p, at).await,
        [
            ev("oauth_provider.created", &link, "server", None),
            ev("oauth_provider.updated", &link, "user", Some(&ada)),
            ev("oauth_provider.deleted", &link, "admin", None),
        ]
    );
}

#[tokio::test]
async fn config_and_project_changes_write_their_events() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let at = last_position(&app, &p).await;
    let admin = app.admin(&p);
    admin
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": "{\"auth.allowSignUp\": false}" }),
        )
        .await
        .ok();
    // Refused: not a key of the tree; and a change that changes nothing writes nothing.
    let refused = admin
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": "{\"auth.nope\": 1}" }),
        )
        .await;
    assert_eq!(refused.status, 400, "{}", refused.text);
    admin
        .patch(
            "/internal/config/override/environment",
            json!({ "config_override_string": "{\"auth.allowSignUp\": false}" }),
        )
        .await
        .ok();
    // A key set made and revoked: the revoked key is refused at once.
    let set = admin
        .post(
            "/internal/api-keys",
            json!({
                "description": "CI", "expires_at_millis": 4_102_444_800_000i64,
                "has_publishable_client_key": false, "has_secret_server_key": true,
                "has_super_secret_admin_key": false,
            }),
        )
        .await
        .ok();
    let set_id = set["id"].as_str().unwrap().to_string();
    let ssk = set["secret_server_key"].as_str().unwrap();
    let with_key = crate::helpers::Project {
        ssk: ssk.into(),
        ..p.clone()
    };
    app.server(&with_key).get("/users").await.ok();
    admin
        .patch(
            &format!("/internal/api-keys/{set_id}"),
            json!({ "revoked": true }),
        )
        .await
        .ok();
    app.server(&with_key)
        .get("/users")
        .await
        .known_error(401, "INVALID_SECRET_SERVER_KEY");
    admin
        .patch(
            "/internal/projects/current",
            json!({ "display_name": "Renamed" }),
        )
        .await
        .ok();
    admin.delete("/internal/projects/current").await.ok();
    let by_admin = |kind: &str| ev(kind, &p.id, "admin", None);
    assert_eq!(
        events(&app, &p, at).await,
        [
            by_admin("config.updated"),
            ev("project_api_key.created", &set_id, "admin", None),
            ev("project_api_key.updated", &set_id, "admin", None),
            by_admin("project.updated"),
            by_admin("project.deleted"),
        ]
    );
    for e in app.core.events_after(&p.id, at, 100).await.unwrap() {
        assert!(!e.data.contains(ssk), "{}", e.data);
    }
}

/// What a request with `token` (client access) sees on `core`: the signed-in user's display
/// name and whether the project allows client user deletion (a setting the project's cached
/// copy carries); `None` when the session is gone.
async fn seen_by(
    core: &gatehouse_core::Core,
    p: &Project,
    token: &str,
) -> Option<(Option<String>, bool)> {
    let creds = gatehouse_core::auth::Credentials {
        access_type: Some("client".into()),
        project_id: Some(p.id.clone()),
        publishable_client_key: Some(p.pck.clone()),
        access_token: Some(token.into()),
        ..Default::default()
    };
    match core.authenticate(&creds).await {
        Ok(Some(auth)) => Some((
            auth.user.and_then(|u| u.display_name),
            auth.project.config.client_user_deletion_enabled,
        )),
        Err(gatehouse_core::Error::AccessTokenExpired { .. }) => None,
        other => panic!("the request is refused: {other:?}"),
    }
}

#[tokio::test]
async fn another_instances_changes_reach_this_ones_caches() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    // A second instance on the same database, whose copies would otherwise live a minute:
    // only the log it follows can tell it of the first one's changes.
    let other = gatehouse_core::Core::start(&gatehouse_core::Settings {
        database_url: app.database_url.clone(),
        secret: app.secret.as_bytes().to_vec(),
        public_url: app.base.clone(),
        read_cache_lifetime: Some(std::time::Duration::from_secs(60)),
        ..Default::default()
    })
    .await
    .unwrap();
    tokio::spawn(other.clone().follow_other_instances());
    let t = app.sign_up(&p, "ada@example.com").await;
    let token = t["access_token"].as_str().unwrap();
    let id = t["user_id"].as_str().unwrap();
    assert_eq!(seen_by(&other, &p, token).await, Some((None, false)));

    // Within a second of each change on the first instance, the second sees it.
    async fn becomes(
        other: &gatehouse_core::Core,
        p: &Project,
        token: &str,
        want: Option<(Option<String>, bool)>,
    ) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
        loop {
            let seen = seen_by(other, p, token).await;
            if seen == want {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "still {seen:?}, not {want:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
    let server = app.server(&p);
    server
        .patch(&format!("/users/{id}"), json!({ "display_name": "Ada" }))
        .await
        .ok();
    becomes(&other, &p, token, Some((Some("Ada".into()), false))).await;
    app.configure(&p, json!({ "users.allowClientUserDeletion": true }))
        .await;
    becomes(&other, &p, token, Some((Some("Ada".into()), true))).await;
    app.client(&p)
        .token(token)
        .delete("/auth/sessions/current")
        .await
        .ok();
    becomes(&other, &p, token, None).await;
}
