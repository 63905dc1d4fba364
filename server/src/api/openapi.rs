//! The REST door's contract, made from the routes themselves: every operation is one [`Op`] in
//! the table of `api/mod.rs`, which both builds the router and writes the OpenAPI 3.1 document
//! (`GET /api/v1/openapi.json`), so neither can name a route the other lacks. Bodies and query
//! strings are described by the very shapes that check them (`validation::Shape`), access types
//! by the table, errors by Stack's `{code, error, details}`. `GET /api/v1/docs` renders the
//! same document as one HTML page, with no script and nothing fetched from elsewhere.

use std::fmt::Write;

use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::MethodRouter;
use gatehouse_core::rate_limits::Action;
use gatehouse_core::validation::Shape;
use gatehouse_core::{html_escape, Core};
use serde_json::{json, Map, Value};

/// Who may call an operation: `client`, `server`, `admin` (the three access types with their
/// keys or a session), `dashboard` (an admin of the internal project, with their session), or
/// `none` (no project headers: browsers following links, public keys).
pub type Access = &'static [&'static str];
pub const ANY: Access = &["client", "server", "admin"];
pub const SERVER: Access = &["server", "admin"];
pub const ADMIN: Access = &["admin"];
pub const DASHBOARD: Access = &["dashboard"];
pub const PUBLIC: Access = &["none"];
/// Svix's API: admin access, or the bearer token `POST /webhooks/svix-token` gives.
pub const SVIX: Access = &["admin"];
/// The OAuth token endpoint: the client authenticates in the form, as OAuth 2 clients do.
pub const OAUTH_CLIENT: Access = &["client"];

/// What a successful answer holds.
#[derive(Clone, Copy, PartialEq)]
pub enum Answer {
    /// A JSON object: one of Stack's resources (`end2end/conformance.test.mjs` names the schema
    /// of each and holds the answers to it).
    Object,
    /// Stack's list envelope: `items`, `is_paginated`, `pagination.next_cursor`.
    List,
    /// `{"success": true}`.
    Success,
    /// `{"is_code_valid": true}`, the answer of every `…/check-code`.
    CodeValid,
    /// The tokens of a new session: `access_token`, `refresh_token`, `user_id`.
    Tokens,
    Text,
    Html,
    /// A redirect (its status says which), with no body.
    Redirect,
    Image,
    /// No body (`204`).
    Nothing,
}

/// One operation: a method on a path, its handler, and what the document says of it.
pub struct Op {
    pub method: &'static str,
    pub path: &'static str,
    pub route: fn() -> MethodRouter<Core>,
    pub access: Access,
    pub summary: &'static str,
    pub limit: Option<Action>,
    pub body: Option<fn(bool) -> Shape>,
    pub query: Option<fn(bool) -> Shape>,
    pub status: u16,
    /// A second success status (the CLI's poll answers `201` once signed in).
    pub or_status: Option<u16>,
    pub answer: Answer,
}

/// An [`Op`] on `METHOD "/path"` served by `handler`; the rest is set with its builder methods.
macro_rules! op {
    ($method:ident $path:literal, $handler:expr, $access:expr, $summary:literal) => {
        $crate::api::openapi::Op {
            method: stringify!($method),
            path: $path,
            route: || axum::routing::on(axum::routing::MethodFilter::$method, $handler),
            access: $access,
            summary: $summary,
            limit: None,
            body: None,
            query: None,
            status: 200,
            or_status: None,
            answer: $crate::api::openapi::Answer::Object,
        }
    };
}
pub(crate) use op;

impl Op {
    /// Attempts are counted against the visitor's limits for `action` (answers may be `429`).
    pub fn limit(mut self, action: Action) -> Op {
        self.limit = Some(action);
        self
    }
    /// The JSON body, as the shape the handler checks it against (`true`: server access).
    pub fn body(mut self, shape: fn(bool) -> Shape) -> Op {
        self.body = Some(shape);
        self
    }
    pub fn query(mut self, shape: fn(bool) -> Shape) -> Op {
        self.query = Some(shape);
        self
    }
    pub fn answers(mut self, status: u16, answer: Answer) -> Op {
        self.status = status;
        self.answer = answer;
        self
    }
    pub fn or_status(mut self, status: u16) -> Op {
        self.or_status = Some(status);
        self
    }
    pub fn answer(self, answer: Answer) -> Op {
        let status = match answer {
            Answer::Redirect => 307,
            Answer::Nothing => 204,
            _ => self.status,
        };
        self.answers(status, answer)
    }

    fn server_shapes(&self) -> bool {
        self.access.iter().any(|a| *a == "server" || *a == "admin")
    }
}

const OAUTH_TOKEN: &str = "/auth/oauth/token";

/// The OpenAPI 3.1 document of `ops`.
pub fn document(ops: &[Op]) -> Value {
    let mut paths = Map::new();
    for op in ops {
        let entry = paths
            .entry(op.path.to_string())
            .or_insert_with(|| json!({}));
        entry[op.method.to_ascii_lowercase()] = operation(op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Gatehouse REST API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Stack Auth's REST API (`/api/v1`), as Gatehouse serves it. Requests name their project and access type in headers (`x-stack-project-id`, `x-stack-access-type`: client, server or admin) with that access type's key, and a signed-in user's access token where one is needed; every header is also accepted spelt `x-hexclave-*`. Errors are Stack's known errors: a JSON body `{code, error, details}` with the code again in `x-stack-known-error`; a few plain-text answers (`413`, `429`) carry their reason as text. `x-gatehouse-access` lists who may call each operation; `x-gatehouse-rate-limit` names the abuse limit its attempts count against.",
            "license": { "name": "MIT", "identifier": "MIT" },
        },
        "servers": [{ "url": "/api/v1" }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "projectId": api_key("x-stack-project-id", "The project's id."),
                "accessType": api_key("x-stack-access-type", "client, server or admin."),
                "publishableClientKey": api_key("x-stack-publishable-client-key", "The project's publishable client key (client access)."),
                "secretServerKey": api_key("x-stack-secret-server-key", "A secret server key (server access)."),
                "superSecretAdminKey": api_key("x-stack-super-secret-admin-key", "A super secret admin key (admin access)."),
                "adminAccessToken": api_key("x-stack-admin-access-token", "A dashboard admin's access token (admin access without a key)."),
                "accessToken": api_key("x-stack-access-token", "The signed-in user's access token."),
                "svixToken": { "type": "http", "scheme": "bearer", "description": "A token from `POST /webhooks/svix-token`." },
            },
            "schemas": {
                "KnownError": {
                    "type": "object",
                    "description": "One of Stack's known errors.",
                    "properties": {
                        "code": { "type": "string", "pattern": "^[A-Z0-9_]+$" },
                        "error": { "type": "string" },
                        "details": { "type": "object" },
                    },
                    "required": ["code", "error"],
                    "additionalProperties": false,
                },
                "OAuthError": {
                    "type": "object",
                    "description": "An OAuth 2 error (RFC 6749 §5.2), from the token endpoint.",
                    "properties": {
                        "error": { "type": "string" },
                        "error_description": { "type": "string" },
                    },
                    "required": ["error", "error_description"],
                    "additionalProperties": false,
                },
                "List": {
                    "type": "object",
                    "properties": {
                        "items": { "type": "array", "items": { "type": "object" } },
                        "is_paginated": { "type": "boolean" },
                        "pagination": {
                            "type": "object",
                            "properties": { "next_cursor": { "type": ["string", "null"] } },
                            "required": ["next_cursor"],
                            "additionalProperties": false,
                        },
                    },
                    "required": ["items", "is_paginated"],
                    "additionalProperties": false,
                },
                "Success": {
                    "type": "object",
                    "properties": { "success": { "const": true } },
                    "required": ["success"],
                    "additionalProperties": false,
                },
                "CodeValid": {
                    "type": "object",
                    "properties": { "is_code_valid": { "const": true } },
                    "required": ["is_code_valid"],
                    "additionalProperties": false,
                },
                "Tokens": {
                    "type": "object",
                    "properties": {
                        "access_token": { "type": "string" },
                        "refresh_token": { "type": "string" },
                        "user_id": { "type": "string", "format": "uuid" },
                    },
                    "required": ["access_token", "refresh_token", "user_id"],
                    "additionalProperties": false,
                },
            },
        },
    })
}

fn api_key(name: &str, description: &str) -> Value {
    json!({ "type": "apiKey", "in": "header", "name": name, "description": description })
}

/// The header sets that authenticate each access type (any one of a list will do).
fn security(access: Access) -> Vec<Value> {
    let mut out = vec![];
    for a in access {
        match *a {
            "client" => {
                out.push(json!({ "projectId": [], "accessType": [], "publishableClientKey": [] }));
                out.push(json!({ "projectId": [], "accessType": [], "publishableClientKey": [], "accessToken": [] }));
            }
            "server" => {
                out.push(json!({ "projectId": [], "accessType": [], "secretServerKey": [] }));
                out.push(json!({ "projectId": [], "accessType": [], "secretServerKey": [], "accessToken": [] }));
            }
            "admin" => {
                out.push(json!({ "projectId": [], "accessType": [], "superSecretAdminKey": [] }));
                out.push(json!({ "projectId": [], "accessType": [], "adminAccessToken": [] }));
            }
            "dashboard" => out.push(
                json!({ "projectId": [], "accessType": [], "publishableClientKey": [], "accessToken": [] }),
            ),
            _ => {}
        }
    }
    out
}

fn operation(op: &Op) -> Value {
    let server = op.server_shapes();
    let mut parameters = vec![];
    for name in op.path.split('/').filter_map(|s| s.strip_prefix('{')) {
        let name = name.trim_end_matches('}');
        parameters.push(json!({
            "name": name, "in": "path", "required": true, "schema": path_param(name),
        }));
    }
    if let Some(query) = op.query {
        for (name, required, schema) in query(server).fields_json_schema() {
            parameters.push(
                json!({ "name": name, "in": "query", "required": required, "schema": schema }),
            );
        }
    }
    let mut o = json!({
        "operationId": operation_id(op),
        "summary": op.summary,
        "tags": [tag(op.path)],
        "security": if op.path.starts_with("/app") {
            let mut s = security(op.access);
            s.push(json!({ "svixToken": [] }));
            s
        } else {
            security(op.access)
        },
        "x-gatehouse-access": op.access,
        "responses": responses(op),
    });
    if !parameters.is_empty() {
        o["parameters"] = Value::from(parameters);
    }
    if let Some(body) = op.body {
        let schema = body(server).json_schema();
        let required = schema.get("required").is_some();
        let media = json!({ "application/json": { "schema": schema } });
        if !required {
            // Every field optional: an empty body reads as `{}`.
            o["description"] = Value::from("The body may be left out when no field is given.");
        }
        o["requestBody"] = json!({ "required": required, "content": media });
    }
    if op.path == OAUTH_TOKEN {
        // OAuth 2's own form (RFC 6749 §4.1.3, §6), read by the handler itself.
        let text = json!({ "type": "string" });
        o["requestBody"] = json!({ "required": true, "content": { "application/x-www-form-urlencoded": { "schema": {
            "type": "object",
            "properties": {
                "grant_type": { "type": "string", "enum": ["authorization_code", "refresh_token"] },
                "client_id": text, "client_secret": text, "code": text, "code_verifier": text,
                "redirect_uri": text, "refresh_token": text,
            },
            "required": ["grant_type", "client_id"],
        } } } });
    }
    if let Some(action) = op.limit {
        o["x-gatehouse-rate-limit"] = Value::from(action.key());
    }
    o
}

/// What a path parameter holds, as the handlers check it (named the same everywhere).
fn path_param(name: &str) -> Value {
    match name {
        "user_id" => {
            json!({ "type": "string", "anyOf": [{ "format": "uuid" }, { "const": "me" }] })
        }
        "team_id" | "api_key_id" | "session_id" | "id" => {
            json!({ "type": "string", "format": "uuid" })
        }
        "level" => {
            json!({ "type": "string", "enum": gatehouse_core::config::Level::ALL.map(|l| l.as_str()) })
        }
        "customer_type" => {
            json!({ "type": "string", "enum": gatehouse_core::payments::CustomerType::ALL.map(|t| t.as_str()) })
        }
        _ => json!({ "type": "string" }),
    }
}

/// `users.post` from `POST /users`, `teams.team_id.get` from `GET /teams/{team_id}`.
fn operation_id(op: &Op) -> String {
    let words: Vec<&str> = op
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_start_matches('{').trim_end_matches('}'))
        .collect();
    if words.is_empty() {
        return format!("welcome.{}", op.method.to_ascii_lowercase());
    }
    format!("{}.{}", words.join("."), op.method.to_ascii_lowercase())
}

/// The section an operation is listed under: the first word of its path that says what it acts
/// on (`/auth/password/sign-in` is under `auth/password`, `/internal/api-keys` under `internal`).
fn tag(path: &str) -> String {
    let words: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && !s.starts_with('{'))
        .collect();
    match words.as_slice() {
        [] => "welcome".into(),
        ["auth", second, ..] => format!("auth/{second}"),
        ["app", ..] => "webhooks (Svix API)".into(),
        [first, ..] => first.to_string(),
    }
}

fn responses(op: &Op) -> Value {
    let mut r = Map::new();
    let json_of = |schema: Value| json!({ "application/json": { "schema": schema } });
    let reference = |name: &str| json!({ "$ref": format!("#/components/schemas/{name}") });
    let success = match op.answer {
        Answer::Object => {
            json!({ "description": "The answer.", "content": json_of(json!({ "type": "object" })) })
        }
        Answer::List => {
            json!({ "description": "A page of items.", "content": json_of(reference("List")) })
        }
        Answer::Success => {
            json!({ "description": "Done.", "content": json_of(reference("Success")) })
        }
        Answer::CodeValid => {
            json!({ "description": "The code is valid.", "content": json_of(reference("CodeValid")) })
        }
        Answer::Tokens => {
            json!({ "description": "Signed in.", "content": json_of(reference("Tokens")) })
        }
        Answer::Text => {
            json!({ "description": "Text.", "content": { "text/plain": { "schema": { "type": "string" } } } })
        }
        Answer::Html => {
            json!({ "description": "A page.", "content": { "text/html": { "schema": { "type": "string" } } } })
        }
        Answer::Image => {
            json!({ "description": "The image.", "content": { "image/*": { "schema": { "type": "string", "contentEncoding": "binary" } } } })
        }
        Answer::Redirect | Answer::Nothing => json!({ "description": "No body." }),
    };
    if let Some(other) = op.or_status {
        r.insert(other.to_string(), success.clone());
    }
    r.insert(op.status.to_string(), success);
    let known = if op.path == OAUTH_TOKEN {
        json!({ "anyOf": [reference("KnownError"), reference("OAuthError")] })
    } else {
        reference("KnownError")
    };
    let error = json!({
        "application/json": { "schema": known },
        "text/plain": { "schema": { "type": "string" } },
    });
    let mut errors = vec![
        (
            400,
            "The request is malformed (SCHEMA_ERROR names each field) or refused.",
        ),
        (401, "Missing or invalid credentials."),
        (403, "Not allowed for these credentials."),
        (404, "Not found."),
        (409, "In conflict with the current state."),
    ];
    if op.answer == Answer::Redirect {
        errors.push((408, "The provider took too long."));
    }
    if op.body.is_some() {
        errors.push((413, "The body is larger than the API accepts."));
    }
    if op.limit.is_some() {
        errors.push((
            429,
            "Too many attempts: see `Retry-After` and `RateLimit-*`.",
        ));
    }
    for (status, text) in errors {
        r.insert(
            status.to_string(),
            json!({ "description": text, "content": error.clone() }),
        );
    }
    Value::Object(r)
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi_json() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        DOCUMENT.get_or_init(render_json).clone(),
    )
        .into_response()
}

/// `GET /api/v1/docs`: the reference as one page.
pub async fn docs() -> Html<String> {
    Html(DOCS.get_or_init(render_docs).clone())
}

static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
static DOCS: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The API's document, made once.
fn the_document() -> &'static Value {
    static DOC: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    DOC.get_or_init(|| document(&super::operations()))
}

fn render_json() -> String {
    serde_json::to_string_pretty(the_document()).unwrap_or_default()
}

/// The document as HTML: a contents list by section, then every operation with its access,
/// parameters, body fields (nested as they nest) and answers.
fn render_docs() -> String {
    let doc = the_document();
    let mut sections: Vec<(String, Vec<(String, String, Value)>)> = vec![];
    if let Some(paths) = doc["paths"].as_object() {
        for (path, methods) in paths {
            for (method, o) in methods.as_object().into_iter().flatten() {
                let tag = o["tags"][0].as_str().unwrap_or_default().to_string();
                let i = match sections.iter().position(|(t, _)| *t == tag) {
                    Some(i) => i,
                    None => {
                        sections.push((tag, vec![]));
                        sections.len() - 1
                    }
                };
                sections[i]
                    .1
                    .push((method.to_uppercase(), path.clone(), o.clone()));
            }
        }
    }
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Gatehouse REST API reference</title><style>{CSS}</style></head><body><header><h1>Gatehouse REST API</h1><p>{}</p><p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a> (OpenAPI 3.1). Base URL: <code>/api/v1</code>.</p></header><nav><h2>Contents</h2><ul>"#,
        html_escape(doc["info"]["description"].as_str().unwrap_or_default())
    );
    for (tag, ops) in &sections {
        let _ = write!(
            h,
            r##"<li><a href="#{0}">{0}</a> ({1})</li>"##,
            html_escape(tag),
            ops.len()
        );
    }
    h.push_str("</ul></nav><main>");
    for (tag, ops) in &sections {
        let _ = write!(h, r#"<section id="{0}"><h2>{0}</h2>"#, html_escape(tag));
        for (method, path, o) in ops {
            let id = o["operationId"].as_str().unwrap_or_default();
            let _ = write!(
                h,
                r#"<article id="{}"><h3><span class="m {}">{}</span> <code>{}</code></h3><p>{}</p><p class="meta">Access: {}"#,
                html_escape(id),
                method.to_lowercase(),
                method,
                html_escape(path),
                html_escape(o["summary"].as_str().unwrap_or_default()),
                o["x-gatehouse-access"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            if let Some(limit) = o["x-gatehouse-rate-limit"].as_str() {
                let _ = write!(h, " · rate-limited as <code>{}</code>", html_escape(limit));
            }
            h.push_str("</p>");
            if let Some(params) = o["parameters"].as_array() {
                h.push_str("<h4>Parameters</h4><ul>");
                for p in params {
                    let _ = write!(
                        h,
                        "<li><code>{}</code> ({}{}) {}</li>",
                        html_escape(p["name"].as_str().unwrap_or_default()),
                        html_escape(p["in"].as_str().unwrap_or_default()),
                        if p["required"] == true {
                            ", required"
                        } else {
                            ""
                        },
                        type_text(&p["schema"])
                    );
                }
                h.push_str("</ul>");
            }
            if let Some(content) = o["requestBody"]["content"].as_object() {
                for (media, m) in content {
                    let _ = write!(h, "<h4>Body <small>{}</small></h4>", html_escape(media));
                    fields(&mut h, &m["schema"]);
                }
            }
            h.push_str("<h4>Answers</h4><ul>");
            for (status, r) in o["responses"].as_object().into_iter().flatten() {
                let _ = write!(
                    h,
                    "<li><b>{}</b> {}</li>",
                    html_escape(status),
                    html_escape(r["description"].as_str().unwrap_or_default())
                );
            }
            h.push_str("</ul></article>");
        }
        h.push_str("</section>");
    }
    h.push_str("</main></body></html>");
    h
}

/// A field's type in words: `string (uuid)`, `one of: a, b`, `integer ≥ 0`.
fn type_text(s: &Value) -> String {
    let kind = match &s["type"] {
        Value::String(t) => t.clone(),
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    };
    let mut out = html_escape(&kind);
    if let Some(f) = s["format"].as_str() {
        let _ = write!(out, " ({})", html_escape(f));
    }
    if let Some(values) = s["enum"].as_array() {
        let list: Vec<String> = values.iter().map(|v| html_escape(&v.to_string())).collect();
        let _ = write!(out, ", one of {}", list.join(", "));
    }
    if let Some(n) = s["maxLength"].as_u64() {
        let _ = write!(out, ", at most {n} characters");
    }
    if s["minLength"].as_u64() == Some(1) {
        out.push_str(", not empty");
    }
    if let Some(n) = s["minimum"].as_f64() {
        let _ = write!(out, ", ≥ {n}");
    }
    if let Some(n) = s["maximum"].as_f64() {
        let _ = write!(out, ", ≤ {n}");
    }
    if s["anyOf"].is_array() {
        out.push_str(", a UUID or <code>me</code>");
    }
    out
}

/// An object schema's fields as a nested list.
fn fields(h: &mut String, schema: &Value) {
    let Some(props) = schema["properties"].as_object() else {
        let _ = write!(h, "<p>{}</p>", type_text(schema));
        return;
    };
    let required: Vec<&str> = schema["required"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    if props.is_empty() {
        h.push_str("<p>An empty object: <code>{}</code>.</p>");
        return;
    }
    h.push_str("<ul>");
    for (name, s) in props {
        let _ = write!(
            h,
            "<li><code>{}</code>{}: {}",
            html_escape(name),
            if required.contains(&name.as_str()) {
                " (required)"
            } else {
                ""
            },
            type_text(s)
        );
        if s["properties"].is_object() {
            fields(h, s);
        } else if s["items"]["properties"].is_object() {
            h.push_str(", each:");
            fields(h, &s["items"]);
        }
        h.push_str("</li>");
    }
    h.push_str("</ul>");
}

const CSS: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:0 auto;max-width:60rem;padding:1rem 1.5rem;color:#1c1917}h1{margin-bottom:.2rem}nav ul{columns:3;padding-left:1rem}article{border-top:1px solid #e7e5e4;padding:.5rem 0}h3{font-size:1rem;margin:.4rem 0}h4{font-size:.9rem;margin:.5rem 0 .2rem}code{font-size:.9em}.m{display:inline-block;min-width:4rem;font:600 .8rem monospace;padding:.1rem .3rem;border-radius:.25rem;background:#e7e5e4;text-align:center}.get{background:#dbeafe}.post{background:#dcfce7}.patch,.put{background:#fef3c7}.delete{background:#fee2e2}.meta{color:#57534e;font-size:.9rem}ul{margin:.2rem 0}@media (prefers-color-scheme:dark){body{background:#1c1917;color:#e7e5e4}a{color:#93c5fd}.m{color:#1c1917}.meta{color:#a8a29e}article{border-color:#44403c}}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_names_each_operation_once_with_its_shapes() {
        let ops = crate::api::operations();
        let doc = document(&ops);
        let mut ids: Vec<String> = ops.iter().map(operation_id).collect();
        let count = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), count, "operation ids are unique");
        let listed: usize = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .map(|m| m.as_object().unwrap().len())
            .sum();
        assert_eq!(listed, count, "each operation is in the document once");
        let sign_up = &doc["paths"]["/auth/password/sign-up"]["post"];
        let body = &sign_up["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(body["additionalProperties"], false);
        assert_eq!(body["required"], json!(["email", "password"]));
        assert_eq!(sign_up["x-gatehouse-rate-limit"], "signUp");
        assert!(sign_up["responses"]["429"].is_object());
        let users = &doc["paths"]["/users"]["get"];
        assert_eq!(users["x-gatehouse-access"], json!(["server", "admin"]));
        assert!(users["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "query" && p["in"] == "query"));
        assert!(render_docs().contains("/auth/password/sign-up"));
    }
}
