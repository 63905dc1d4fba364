//! Teams, memberships, member profiles, invitations and permissions over REST, with Stack's
//! rules for client access (system permissions) and Stack's errors.

use serde_json::{json, Value};

use crate::email_flows::{link_code, mail};
use crate::helpers::TestApp;

fn ids(list: &Value, field: &str) -> Vec<String> {
    let mut v: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

#[tokio::test]
async fn teams_are_created_read_updated_and_deleted_under_stacks_client_rules() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let (_, bob) = app.signed_up(&p, "bob@example.com").await;

    // Browsers create teams only where the project allows it.
    let refused = ada.post("/teams", json!({ "display_name": "Acme" })).await;
    assert_eq!(refused.status, 403);
    assert_eq!(
        refused.text,
        "Client team creation is disabled for this project"
    );
    app.configure(&p, json!({ "teams.allowClientTeamCreation": true }))
        .await;
    app.client(&p)
        .post("/teams", json!({ "display_name": "Acme" }))
        .await
        .known_error(401, "USER_AUTHENTICATION_REQUIRED");
    let other = ada
        .post(
            "/teams",
            json!({ "display_name": "Acme", "creator_user_id": uuid::Uuid::new_v4().to_string() }),
        )
        .await;
    assert_eq!(other.status, 403);
    assert!(other.text.contains("set the creator_user_id to 'me'"));
    let outside = ada
        .post(
            "/teams",
            json!({ "display_name": "Acme", "profile_image_url": "https://img.test/a.png" }),
        )
        .await;
    assert_eq!(
        (outside.status, outside.text.as_str()),
        (400, "Invalid profile image URL")
    );

    let acme = ada
        .post(
            "/teams",
            json!({ "display_name": "Acme", "creator_user_id": "me", "client_metadata": { "plan": "pro" } }),
        )
        .await;
    assert_eq!(acme.status, 201, "{}", acme.text);
    let acme = acme.body;
    let acme_id = acme["id"].as_str().unwrap().to_string();
    assert_eq!(acme["client_metadata"], json!({ "plan": "pro" }));
    assert!(
        acme.get("server_metadata").is_none(),
        "clients see no server metadata"
    );

    // The creator is a member with the project's creator permissions (team_admin).
    let mine = ada.get("/teams?user_id=me").await.ok();
    assert_eq!(ids(&mine, "id"), std::slice::from_ref(&acme_id));
    let perms = ada
        .get(&format!("/team-permissions?team_id={acme_id}&user_id=me"))
        .await
        .ok();
    assert_eq!(ids(&perms, "id"), ["team_admin"]);
    let listed = ada.get("/teams").await;
    assert_eq!(listed.status, 403);
    assert!(listed
        .text
        .starts_with("Client can only list teams for their own user."));

    // Others cannot see it; the server sees everything, with server fields.
    bob.get(&format!("/teams/{acme_id}"))
        .await
        .known_error(404, "TEAM_MEMBERSHIP_NOT_FOUND");
    let seen = server.get(&format!("/teams/{acme_id}")).await.ok();
    assert!(seen["created_at_millis"].as_i64().unwrap() > 0);
    assert_eq!(seen["server_metadata"], Value::Null);
    server
        .get(&format!("/teams/{}", uuid::Uuid::new_v4()))
        .await
        .known_error(404, "TEAM_NOT_FOUND");
    server.get("/teams/not-a-team").await.schema_error(
        "GET",
        "/teams/not-a-team",
        &["params.team_id must be a valid UUID"],
    );

    // A team made by the server, with no members, and the lists.
    let lone = server
        .post(
            "/teams",
            json!({ "display_name": "Lone", "server_metadata": { "x": 1 } }),
        )
        .await;
    assert_eq!(lone.status, 201);
    assert_eq!(lone.body["server_metadata"], json!({ "x": 1 }));
    let all = server.get("/teams").await.ok();
    assert_eq!(all["items"].as_array().unwrap().len(), 2);
    assert_eq!(all["is_paginated"], false);
    let of_ada = server.get(&format!("/teams?user_id={ada_id}")).await.ok();
    assert_eq!(ids(&of_ada, "id"), std::slice::from_ref(&acme_id));
    server
        .post(
            "/teams",
            json!({ "display_name": "X", "creator_user_id": uuid::Uuid::new_v4().to_string() }),
        )
        .await
        .known_error(404, "USER_NOT_FOUND");

    // Updates: a data URL is kept and served by Gatehouse; members need $update_team.
    let updated = ada
        .patch(
            &format!("/teams/{acme_id}"),
            json!({ "display_name": "Acme Inc", "profile_image_url": PNG }),
        )
        .await
        .ok();
    assert_eq!(updated["display_name"], "Acme Inc");
    let url = updated["profile_image_url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!("{}/api/v1/images/", app.base)),
        "{url}"
    );
    let image = app.http.get(url).send().await.unwrap();
    assert_eq!(image.headers()["content-type"], "image/png");
    assert!(image.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("immutable"));
    assert_eq!(image.bytes().await.unwrap().len(), 70);
    // Users' pictures too; the same picture is stored once, under the same address.
    let pictured = server
        .post("/users", json!({ "profile_image_url": PNG }))
        .await
        .ok();
    assert_eq!(pictured["profile_image_url"], url);
    let svg = server
        .post(
            "/users",
            json!({ "profile_image_url": "data:image/svg+xml;base64,PHN2Zz4=" }),
        )
        .await;
    assert_eq!(svg.status, 400, "{}", svg.text);
    assert!(
        svg.text.contains("PNG, JPEG, GIF, BMP or WebP"),
        "{}",
        svg.text
    );
    let bob_id = app.sign_up(&p, "bob2@example.com").await;
    let bob2 = app
        .client(&p)
        .token(bob_id["access_token"].as_str().unwrap());
    let bob2_id = bob_id["user_id"].as_str().unwrap();
    server
        .post(&format!("/team-memberships/{acme_id}/{bob2_id}"), json!({}))
        .await
        .ok();
    bob2.patch(
        &format!("/teams/{acme_id}"),
        json!({ "display_name": "Mine" }),
    )
    .await
    .known_error(401, "TEAM_PERMISSION_REQUIRED");
    bob2.delete(&format!("/teams/{acme_id}"))
        .await
        .known_error(401, "TEAM_PERMISSION_REQUIRED");
    ada.patch(
        &format!("/teams/{acme_id}"),
        json!({ "server_metadata": { "a": 1 } }),
    )
    .await
    .schema_error(
        "PATCH",
        &format!("/teams/{acme_id}"),
        &["body contains unknown properties: server_metadata"],
    );

    // Selected team follows the team: deleting it unselects it.
    ada.patch("/users/me", json!({ "selected_team_id": acme_id }))
        .await
        .ok();
    ada.delete(&format!("/teams/{acme_id}")).await.ok();
    server
        .get(&format!("/teams/{acme_id}"))
        .await
        .known_error(404, "TEAM_NOT_FOUND");
    let me = ada.get("/users/me").await.ok();
    assert_eq!(me["selected_team_id"], Value::Null);
    assert_eq!(me["selected_team"], Value::Null);
}

#[tokio::test]
async fn personal_teams_and_default_permissions_come_with_sign_up() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    app.admin(&p)
        .post(
            "/project-permission-definitions",
            json!({ "id": "beta_tester" }),
        )
        .await
        .ok();
    app.configure(&p, json!({ "teams.createPersonalTeamOnSignUp": true, "rbac.defaultPermissions.signUp": { "beta_tester": true } }),
    )
    .await;
    let (_, ada) = app.signed_up(&p, "ada@example.com").await;
    let me = ada.get("/users/me").await.ok();
    let team = me["selected_team"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        me["selected_team"]["display_name"],
        "ada@example.com's Team"
    );
    let perms = ada
        .get(&format!(
            "/team-permissions?team_id={team}&user_id=me&recursive=true"
        ))
        .await
        .ok();
    assert!(ids(&perms, "id").contains(&"$delete_team".to_string()));
    let project_perms = ada.get("/project-permissions?user_id=me").await.ok();
    assert_eq!(ids(&project_perms, "id"), ["beta_tester"]);
}

#[tokio::test]
async fn memberships_and_member_profiles() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let (bob_id, bob) = app.signed_up(&p, "bob@example.com").await;
    let (cy_id, cy) = app.signed_up(&p, "cy@example.com").await;
    let team = server
        .post(
            "/teams",
            json!({ "display_name": "Acme", "creator_user_id": ada_id }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();

    let joined = server
        .post(&format!("/team-memberships/{team}/{bob_id}"), json!({}))
        .await;
    assert_eq!(joined.status, 201);
    assert_eq!(joined.body, json!({ "team_id": team, "user_id": bob_id }));
    server
        .post(&format!("/team-memberships/{team}/{bob_id}"), json!({}))
        .await
        .known_error(409, "TEAM_MEMBERSHIP_ALREADY_EXISTS");
    server
        .post(
            &format!("/team-memberships/{team}/{}", uuid::Uuid::new_v4()),
            json!({}),
        )
        .await
        .known_error(404, "USER_NOT_FOUND");
    server
        .post(
            &format!("/team-memberships/{}/{cy_id}", uuid::Uuid::new_v4()),
            json!({}),
        )
        .await
        .known_error(404, "TEAM_NOT_FOUND");
    ada.post(&format!("/team-memberships/{team}/{cy_id}"), json!({}))
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    server
        .post(&format!("/team-memberships/{team}/{cy_id}"), json!({}))
        .await
        .ok();

    // Profiles: members with $read_members (team_member has it) list everyone.
    let listed = bob
        .get(&format!("/team-member-profiles?team_id={team}"))
        .await
        .ok();
    assert_eq!(listed["items"].as_array().unwrap().len(), 3);
    assert!(listed["items"][0].get("user").is_none());
    let none = bob.get("/team-member-profiles").await;
    assert_eq!(
        (none.status, none.text.as_str()),
        (400, "team_id is required for access type client")
    );
    let outsider = app.signed_up(&p, "dee@example.com").await.1;
    outsider
        .get(&format!("/team-member-profiles?team_id={team}"))
        .await
        .known_error(404, "TEAM_MEMBERSHIP_NOT_FOUND");

    // Each member names themselves per team; the user's name shows otherwise.
    server
        .patch(
            &format!("/users/{bob_id}"),
            json!({ "display_name": "Bob" }),
        )
        .await
        .ok();
    let own = bob
        .get(&format!("/team-member-profiles/{team}/me"))
        .await
        .ok();
    assert_eq!(own["display_name"], "Bob");
    let renamed = bob
        .patch(
            &format!("/team-member-profiles/{team}/me"),
            json!({ "display_name": "Bobby (Acme)" }),
        )
        .await
        .ok();
    assert_eq!(renamed["display_name"], "Bobby (Acme)");
    let refused = bob
        .patch(
            &format!("/team-member-profiles/{team}/{cy_id}"),
            json!({ "display_name": "Cy" }),
        )
        .await;
    assert_eq!(
        (refused.status, refused.text.as_str()),
        (403, "Cannot update another user's profile")
    );
    let full = server
        .get(&format!("/team-member-profiles/{team}/{bob_id}"))
        .await
        .ok();
    assert_eq!(full["display_name"], "Bobby (Acme)");
    assert_eq!(full["user"]["display_name"], "Bob");

    // Without $read_members only one's own profile shows.
    server
        .delete(&format!("/team-permissions/{team}/{cy_id}/team_member"))
        .await
        .ok();
    cy.get(&format!("/team-member-profiles?team_id={team}"))
        .await
        .known_error(401, "TEAM_PERMISSION_REQUIRED");
    let just_me = cy
        .get(&format!("/team-member-profiles?team_id={team}&user_id=me"))
        .await
        .ok();
    assert_eq!(ids(&just_me, "user_id"), std::slice::from_ref(&cy_id));

    // Leaving is always allowed; removing others takes $remove_members.
    cy.delete(&format!("/team-memberships/{team}/{bob_id}"))
        .await
        .known_error(401, "TEAM_PERMISSION_REQUIRED");
    cy.patch("/users/me", json!({ "selected_team_id": team }))
        .await
        .ok();
    cy.delete(&format!("/team-memberships/{team}/me"))
        .await
        .ok();
    assert_eq!(
        cy.get("/users/me").await.ok()["selected_team_id"],
        Value::Null
    );
    ada.delete(&format!("/team-memberships/{team}/{bob_id}"))
        .await
        .ok();
    ada.delete(&format!("/team-memberships/{team}/{bob_id}"))
        .await
        .known_error(404, "TEAM_MEMBERSHIP_NOT_FOUND");
    // Their grants in the team went with the membership.
    let left = server
        .get(&format!(
            "/team-permissions?team_id={team}&user_id={bob_id}"
        ))
        .await
        .ok();
    assert_eq!(left["items"], json!([]));
    let members = server
        .get(&format!("/team-member-profiles?team_id={team}"))
        .await
        .ok();
    assert_eq!(ids(&members, "user_id"), [ada_id]);
}

#[tokio::test]
async fn invitations_are_mailed_listed_withdrawn_and_accepted() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    app.configure(&p, json!({ "domains.trustedDomains.app": { "baseUrl": "https://app.test", "handlerPath": "/handler" } }),
    )
    .await;
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let (cy_id, cy) = app.signed_up(&p, "cy@example.com").await;
    let team = server
        .post(
            "/teams",
            json!({ "display_name": "Acme", "creator_user_id": ada_id }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let invite = |to: &str| json!({ "team_id": team, "email": to, "callback_url": "https://app.test/handler/team-invitation" });

    // A member without $invite_members is refused.
    server
        .post(&format!("/team-memberships/{team}/{cy_id}"), json!({}))
        .await
        .ok();
    server
        .delete(&format!("/team-permissions/{team}/{cy_id}/team_member"))
        .await
        .ok();
    cy.post("/team-invitations/send-code", invite("x@example.com"))
        .await
        .known_error(401, "TEAM_PERMISSION_REQUIRED");
    ada.post(
        "/team-invitations/send-code",
        json!({ "team_id": team, "email": "bob@example.com", "callback_url": "https://evil.test/join" }),
    )
    .await
    .known_error(400, "REDIRECT_URL_NOT_WHITELISTED");

    let sent = ada
        .post("/team-invitations/send-code", invite("bob@example.com"))
        .await
        .ok();
    assert_eq!(sent["success"], true);
    let invitation_id = sent["id"].as_str().unwrap().to_string();
    let email = mail(&server, "invited to join Acme").await;
    assert_eq!(email["to"]["emails"], json!(["bob@example.com"]));
    let code = link_code(&email);
    assert!(email["text"]
        .as_str()
        .unwrap()
        .contains("https://app.test/handler/team-invitation?code="));

    let pending = ada
        .get(&format!("/team-invitations?team_id={team}"))
        .await
        .ok();
    assert_eq!(pending["items"][0]["recipient_email"], "bob@example.com");
    assert_eq!(pending["items"][0]["team_display_name"], "Acme");
    assert_eq!(pending["items"][0]["id"], invitation_id.as_str());
    cy.get(&format!("/team-invitations?team_id={team}"))
        .await
        .known_error(401, "TEAM_PERMISSION_REQUIRED");
    let both = ada
        .get(&format!("/team-invitations?team_id={team}&user_id=me"))
        .await;
    assert_eq!(
        (both.status, both.text.as_str()),
        (400, "Cannot specify both team_id and user_id")
    );

    // The invitee signs up and accepts; the code works once.
    let (bob_id, bob) = app.signed_up(&p, "bob@example.com").await;
    app.client(&p)
        .post("/team-invitations/accept/details", json!({ "code": code }))
        .await
        .known_error(401, "USER_AUTHENTICATION_REQUIRED");
    let checked = bob
        .post(
            "/team-invitations/accept/check-code",
            json!({ "code": code }),
        )
        .await
        .ok();
    assert_eq!(checked, json!({ "is_code_valid": true }));
    let details = bob
        .post("/team-invitations/accept/details", json!({ "code": code }))
        .await
        .ok();
    assert_eq!(
        details,
        json!({ "team_id": team, "team_display_name": "Acme" })
    );
    assert_eq!(
        bob.post(
            "/team-invitations/accept",
            json!({ "code": code.to_uppercase() })
        )
        .await
        .ok(),
        json!({})
    );
    bob.post("/team-invitations/accept", json!({ "code": code }))
        .await
        .known_error(409, "VERIFICATION_CODE_ALREADY_USED");
    let perms = server
        .get(&format!(
            "/team-permissions?team_id={team}&user_id={bob_id}"
        ))
        .await
        .ok();
    assert_eq!(ids(&perms, "id"), ["team_member"]);
    assert!(ada
        .get(&format!("/team-invitations?team_id={team}"))
        .await
        .ok()["items"]
        .as_array()
        .unwrap()
        .is_empty());

    // Invitations to a user's verified address are listed for them and accepted by id.
    ada.post("/team-invitations/send-code", invite("dee@example.com"))
        .await
        .ok();
    let dee = server
        .post(
            "/users",
            json!({ "primary_email": "dee@example.com", "primary_email_verified": true }),
        )
        .await
        .ok();
    let dee_id = dee["id"].as_str().unwrap();
    let theirs = server
        .get(&format!("/team-invitations?user_id={dee_id}"))
        .await
        .ok();
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    let their_id = theirs["items"][0]["id"].as_str().unwrap();
    bob.post(
        &format!("/team-invitations/{their_id}/accept?user_id=me"),
        json!({}),
    )
    .await
    .known_error(404, "VERIFICATION_CODE_NOT_FOUND");
    server
        .post(
            &format!("/team-invitations/{their_id}/accept?user_id={dee_id}"),
            json!({}),
        )
        .await
        .ok();
    let dee_teams = server.get(&format!("/teams?user_id={dee_id}")).await.ok();
    assert_eq!(ids(&dee_teams, "id"), std::slice::from_ref(&team));

    // Withdrawing: only the team's own invitations, and with $remove_members.
    let withdrawn = ada
        .post("/team-invitations/send-code", invite("eve@example.com"))
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let eve_code = link_code(&mail(&server, "invited to join Acme").await);
    let need_team = ada.delete(&format!("/team-invitations/{withdrawn}")).await;
    assert_eq!(need_team.status, 400);
    let other_team = server
        .post("/teams", json!({ "display_name": "Other" }))
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    server
        .delete(&format!(
            "/team-invitations/{withdrawn}?team_id={other_team}"
        ))
        .await
        .known_error(404, "VERIFICATION_CODE_NOT_FOUND");
    bob.delete(&format!("/team-invitations/{withdrawn}?team_id={team}"))
        .await
        .known_error(401, "TEAM_PERMISSION_REQUIRED");
    ada.delete(&format!("/team-invitations/{withdrawn}?team_id={team}"))
        .await
        .ok();
    let (_, eve) = app.signed_up(&p, "eve@example.com").await;
    eve.post("/team-invitations/accept", json!({ "code": eve_code }))
        .await
        .known_error(404, "VERIFICATION_CODE_NOT_FOUND");

    // Anonymous users finish signing up first.
    ada.post("/team-invitations/send-code", invite("anon@example.com"))
        .await
        .ok();
    let anon_code = link_code(&mail(&server, "invited to join Acme").await);
    let anon = app
        .client(&p)
        .post("/auth/anonymous/sign-up", json!({}))
        .await
        .ok();
    app.client(&p)
        .token(anon["access_token"].as_str().unwrap())
        .header("x-stack-allow-anonymous-user", "true")
        .post("/team-invitations/accept", json!({ "code": anon_code }))
        .await
        .known_error(403, "TEAM_INVITATION_RESTRICTED_USER_NOT_ALLOWED");
}

#[tokio::test]
async fn permission_definitions_and_grants() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let admin = app.admin(&p);
    let server = app.server(&p);
    let (ada_id, ada) = app.signed_up(&p, "ada@example.com").await;
    let team = server
        .post(
            "/teams",
            json!({ "display_name": "Acme", "creator_user_id": ada_id }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();

    // Definitions: admin only; ids checked; contained ids must exist; no cycles.
    server
        .get("/team-permission-definitions")
        .await
        .known_error(401, "INSUFFICIENT_ACCESS_TYPE");
    let defaults = admin.get("/team-permission-definitions").await.ok();
    let default_ids = ids(&defaults, "id");
    assert!(default_ids.contains(&"team_admin".to_string()));
    assert!(default_ids.contains(&"$manage_api_keys".to_string()));
    let read = admin
        .post(
            "/team-permission-definitions",
            json!({ "id": "docs:read", "description": "Read docs" }),
        )
        .await;
    assert_eq!(read.status, 201);
    assert_eq!(
        read.body,
        json!({ "id": "docs:read", "description": "Read docs", "contained_permission_ids": [] })
    );
    let write = admin
        .post(
            "/team-permission-definitions",
            json!({ "id": "docs:write", "contained_permission_ids": ["docs:read", "$read_members"] }),
        )
        .await
        .ok();
    assert_eq!(
        write["contained_permission_ids"],
        json!(["$read_members", "docs:read"])
    );
    admin
        .post("/team-permission-definitions", json!({ "id": "docs:read" }))
        .await
        .known_error(400, "PERMISSION_ID_ALREADY_EXISTS");
    admin
        .post(
            "/team-permission-definitions",
            json!({ "id": "x", "contained_permission_ids": ["nope"] }),
        )
        .await
        .known_error(400, "CONTAINED_PERMISSION_NOT_FOUND");
    admin
        .post(
            "/team-permission-definitions",
            json!({ "id": "Bad Id", "contained_permission_ids": ["$nope"] }),
        )
        .await
        .schema_error(
            "POST",
            "/team-permission-definitions",
            &[
                "Only lowercase letters, numbers, \":\", \"_\" are allowed",
                "Invalid system permission",
            ],
        );
    let cycle = admin
        .patch(
            "/team-permission-definitions/docs:read",
            json!({ "contained_permission_ids": ["docs:write"] }),
        )
        .await;
    assert_eq!(cycle.status, 400);
    assert!(
        cycle.text.contains("docs:read → docs:write → docs:read"),
        "{}",
        cycle.text
    );

    // Grants, direct and recursive.
    let granted = server
        .post(
            &format!("/team-permissions/{team}/{ada_id}/docs:write"),
            json!({}),
        )
        .await;
    assert_eq!(granted.status, 201);
    assert_eq!(
        granted.body,
        json!({ "id": "docs:write", "user_id": ada_id, "team_id": team })
    );
    let direct = ada
        .get(&format!("/team-permissions?team_id={team}&user_id=me"))
        .await
        .ok();
    assert_eq!(ids(&direct, "id"), ["docs:write", "team_admin"]);
    let all = ada
        .get(&format!(
            "/team-permissions?team_id={team}&user_id=me&recursive=true&permission_id=docs:read"
        ))
        .await
        .ok();
    assert_eq!(ids(&all, "id"), ["docs:read"]);
    let others = ada
        .get(&format!(
            "/team-permissions?team_id={team}&user_id={}",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(others.status, 403);
    server
        .delete(&format!("/team-permissions/{team}/{ada_id}/docs:read"))
        .await
        .known_error(401, "TEAM_PERMISSION_NOT_FOUND");
    server
        .post(
            &format!("/team-permissions/{team}/{ada_id}/nope"),
            json!({}),
        )
        .await
        .known_error(404, "PERMISSION_NOT_FOUND");
    ada.post(
        &format!("/team-permissions/{team}/{ada_id}/docs:read"),
        json!({}),
    )
    .await
    .known_error(401, "INSUFFICIENT_ACCESS_TYPE");

    // Project permissions, and scopes kept apart.
    admin
        .post(
            "/project-permission-definitions",
            json!({ "id": "billing" }),
        )
        .await
        .ok();
    server
        .post(
            &format!("/team-permissions/{team}/{ada_id}/billing"),
            json!({}),
        )
        .await
        .known_error(404, "WRONG_PERMISSION_SCOPE");
    server
        .post(
            &format!("/project-permissions/{ada_id}/docs:read"),
            json!({}),
        )
        .await
        .known_error(404, "WRONG_PERMISSION_SCOPE");
    server
        .post(&format!("/project-permissions/{ada_id}/billing"), json!({}))
        .await
        .ok();
    assert_eq!(
        ids(&ada.get("/project-permissions?user_id=me").await.ok(), "id"),
        ["billing"]
    );
    server
        .delete(&format!("/project-permissions/{ada_id}/billing"))
        .await
        .ok();
    server
        .delete(&format!("/project-permissions/{ada_id}/billing"))
        .await
        .known_error(404, "PERMISSION_NOT_FOUND");

    // Renaming follows into grants and containers; deleting a definition in use removes it
    // from both.
    let renamed = admin
        .patch(
            "/team-permission-definitions/docs:read",
            json!({ "id": "docs:view" }),
        )
        .await
        .ok();
    assert_eq!(
        renamed,
        json!({ "id": "docs:view", "description": "Read docs", "contained_permission_ids": [] })
    );
    let defs = admin.get("/team-permission-definitions").await.ok();
    let write_def = defs["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == "docs:write")
        .unwrap()
        .clone();
    assert_eq!(
        write_def["contained_permission_ids"],
        json!(["$read_members", "docs:view"])
    );
    admin
        .delete("/team-permission-definitions/docs:write")
        .await
        .ok();
    let left = ada
        .get(&format!("/team-permissions?team_id={team}&user_id=me"))
        .await
        .ok();
    assert_eq!(ids(&left, "id"), ["team_admin"]);
    admin
        .delete("/team-permission-definitions/docs:write")
        .await
        .known_error(404, "PERMISSION_NOT_FOUND");
    admin
        .delete("/project-permission-definitions/docs:view")
        .await
        .known_error(404, "PERMISSION_NOT_FOUND");
    // The rename reached the default grants too.
    admin
        .patch(
            "/team-permission-definitions/team_member",
            json!({ "id": "member" }),
        )
        .await
        .ok();
    let config = admin.get("/internal/config").await.ok();
    let rendered: Value = serde_json::from_str(config["config_string"].as_str().unwrap()).unwrap();
    assert_eq!(
        rendered["rbac"]["defaultPermissions"]["teamMember"],
        json!({ "member": true })
    );
}

/// The hosted account page lets members change each other's permissions under Gatehouse's own
/// rule (Stack has no client endpoint for it): `$update_team`, only what they hold, never their
/// own.
#[tokio::test]
async fn members_change_permissions_only_within_what_they_hold() {
    let app = TestApp::spawn().await;
    let p = app.project().await;
    let server = app.server(&p);
    let (ada_id, _) = app.signed_up(&p, "ada@example.com").await;
    let (bob_id, _) = app.signed_up(&p, "bob@example.com").await;
    let (cy_id, _) = app.signed_up(&p, "cy@example.com").await;
    let team = server
        .post(
            "/teams",
            json!({ "display_name": "Acme", "creator_user_id": ada_id }),
        )
        .await
        .ok()["id"]
        .as_str()
        .unwrap()
        .to_string();
    for u in [&bob_id, &cy_id] {
        server
            .post(&format!("/team-memberships/{team}/{u}"), json!({}))
            .await
            .ok();
    }
    let core = &app.core;
    let project = core.project_cached(&p.id).await.unwrap().unwrap();
    let of = |id: &str| {
        let core = core.clone();
        let (pid, id) = (p.id.clone(), id.to_string());
        async move { core.user(&pid, &id).await.unwrap().unwrap() }
    };
    let (ada, bob) = (of(&ada_id).await, of(&bob_id).await);
    let code = |e: gatehouse_core::Error| e.code().unwrap_or("").to_string();
    // Bob (team_member) lacks $update_team.
    let e = core
        .set_member_permission(&project, &bob, &team, &cy_id, "$read_members", true)
        .await
        .unwrap_err();
    assert_eq!(code(e), "TEAM_PERMISSION_REQUIRED");
    // Ada may give what she holds, but not to herself.
    core.set_member_permission(&project, &ada, &team, &bob_id, "$update_team", true)
        .await
        .unwrap();
    let e = core
        .set_member_permission(&project, &ada, &team, &ada_id, "team_member", true)
        .await
        .unwrap_err();
    assert_eq!(e.status(), 403);
    // Bob now has $update_team, but cannot hand on $delete_team, which he does not hold.
    let bob = of(&bob_id).await;
    let e = core
        .set_member_permission(&project, &bob, &team, &cy_id, "$delete_team", true)
        .await
        .unwrap_err();
    assert_eq!(code(e), "TEAM_PERMISSION_REQUIRED");
    core.set_member_permission(&project, &bob, &team, &cy_id, "$update_team", true)
        .await
        .unwrap();
    core.set_member_permission(&project, &bob, &team, &cy_id, "$update_team", false)
        .await
        .unwrap();
}

/// A project's dashboard admins are its owning team's members (issue 8's invitations).
#[tokio::test]
async fn project_admins_are_invited_withdrawn_and_never_all_removed() {
    let app = TestApp::spawn().await;
    let (admin_id, token) = app.dashboard_user("owner@example.com").await;
    let p = app
        .project_of(&token, json!({ "display_name": "Shop" }))
        .await;
    let core = &app.core;
    let project = core.project_cached(&p.id).await.unwrap().unwrap();
    let admin = core.user("internal", &admin_id).await.unwrap().unwrap();
    let admins = core.project_admins(&project).await.unwrap();
    assert_eq!(admins.members.len(), 1);
    let e = core
        .remove_project_admin(
            &project,
            &admin_id,
            &gatehouse_core::events::Who::Admin(None),
        )
        .await
        .unwrap_err();
    assert!(
        e.message().contains("at least one admin"),
        "{}",
        e.message()
    );
    core.invite_project_admin(&project, &admin, "second@example.com")
        .await
        .unwrap();
    let admins = core.project_admins(&project).await.unwrap();
    assert_eq!(admins.invitations.len(), 1);
    assert_eq!(admins.invitations[0].recipient_email, "second@example.com");
    core.withdraw_admin_invitation(&project, &admins.invitations[0].id)
        .await
        .unwrap();
    assert!(core
        .project_admins(&project)
        .await
        .unwrap()
        .invitations
        .is_empty());
    // The invitation's link leads to the dashboard's own invitation page.
    let mail = crate::email_flows::mail(&app.admin(&app.internal()), "invited to join").await;
    assert!(mail["text"]
        .as_str()
        .unwrap()
        .contains("/handler/internal/team-invitation?code="));
}
