//! The shape of a project's config tree: which keys exist, at which override level each may be
//! set, what type it holds and what it is by default. Stack's config schema, described once as
//! data; validation (`check_override`) and rendering (`super::render`) both walk it.
//!
//! Keys that belong to capabilities still to come (payments products, analytics, dashboards…)
//! are described down to the level their feature needs today and accepted as any JSON below it.

use std::sync::LazyLock;

use serde_json::{json, Map, Value};

/// Where an override is stored. A key set at a later level wins over the same key set earlier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Level {
    Project,
    Branch,
    Environment,
}

impl Level {
    pub const ALL: [Level; 3] = [Level::Project, Level::Branch, Level::Environment];

    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Level::Project => "project",
            Level::Branch => "branch",
            Level::Environment => "environment",
        }
    }
}

/// The levels at which a key may be overridden.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Levels {
    /// Set once per project (`sourceOfTruth`, `project.*`).
    ProjectOnly,
    /// Shared by a branch's environments, and overridable by each.
    BranchAndEnvironment,
    /// Secrets and per-deployment values (OAuth credentials, SMTP server, trusted domains).
    EnvironmentOnly,
}

impl Levels {
    fn admit(self, level: Level) -> bool {
        match self {
            Levels::ProjectOnly => level == Level::Project,
            Levels::BranchAndEnvironment => level != Level::Project,
            Levels::EnvironmentOnly => level == Level::Environment,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) kind: Kind,
    one_of: &'static [&'static str],
    /// `None`: as the enclosing field.
    levels: Option<Levels>,
    pub(crate) default: Default,
}

#[derive(Debug)]
pub(crate) enum Default {
    None,
    /// Absent even for a record or object, which otherwise default to their own defaults.
    Absent,
    Value(Value),
    /// The record entry's own key (a product's display name defaults to its id).
    Key,
}

#[derive(Debug)]
pub(crate) enum Kind {
    Boolean,
    Number,
    String,
    /// Fixed keys.
    Object {
        fields: Vec<(&'static str, Field)>,
    },
    /// Keys chosen by the admin (`rbac.permissions.<id>`), of the form `keys` allows.
    /// `preset` entries exist in every project (the built-in email themes and templates).
    Record {
        keys: Keys,
        value: Box<Field>,
        preset: Vec<(&'static str, Value)>,
    },
    /// Any JSON: validated when its feature lands.
    Any,
}

/// What the keys of a record may be.
#[derive(Debug)]
pub(crate) enum Keys {
    /// Stack's user-chosen ids: letters, digits, `_` and `-` (not first), at most 63.
    UserId,
    /// Permission ids: lower-case letters, digits, `_` and `:`; `$` may start a system one.
    Permission,
    /// Permissions an admin defines: no `$`.
    CustomPermission,
    Uuid,
    OneOf(&'static [&'static str]),
}

impl Keys {
    fn admit(&self, key: &str) -> bool {
        let permission = |k: &str| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | ':'))
        };
        match self {
            Keys::UserId => {
                let mut chars = key.chars();
                key.len() <= 63
                    && chars
                        .next()
                        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
                    && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
            }
            Keys::Permission => permission(key.strip_prefix('$').unwrap_or(key)),
            Keys::CustomPermission => permission(key),
            Keys::Uuid => crate::is_uuid(key),
            Keys::OneOf(values) => values.contains(&key),
        }
    }
}

/// Whether `key` is one of Stack's user-chosen ids (rule ids, product ids…).
pub(crate) fn is_user_id(key: &str) -> bool {
    Keys::UserId.admit(key)
}

fn field(kind: Kind) -> Field {
    Field {
        kind,
        one_of: &[],
        levels: None,
        default: Default::None,
    }
}
fn boolean() -> Field {
    field(Kind::Boolean)
}
fn number() -> Field {
    field(Kind::Number)
}
fn string() -> Field {
    field(Kind::String)
}
fn any() -> Field {
    field(Kind::Any)
}
fn object(fields: Vec<(&'static str, Field)>) -> Field {
    field(Kind::Object { fields })
}
fn record(keys: Keys, value: Field) -> Field {
    field(Kind::Record {
        keys,
        value: Box::new(value),
        preset: vec![],
    })
}

impl Field {
    fn default(mut self, v: Value) -> Field {
        self.default = Default::Value(v);
        self
    }
    fn one_of(mut self, values: &'static [&'static str]) -> Field {
        self.one_of = values;
        self
    }
    fn levels(mut self, levels: Levels) -> Field {
        self.levels = Some(levels);
        self
    }
    fn absent(mut self) -> Field {
        self.default = Default::Absent;
        self
    }
    fn env(self) -> Field {
        self.levels(Levels::EnvironmentOnly)
    }
    fn preset(mut self, entries: Vec<(&'static str, Value)>) -> Field {
        if let Kind::Record { preset, .. } = &mut self.kind {
            *preset = entries;
        }
        self
    }

    /// The field `name` directly inside this one, if it may be set at `level`.
    pub(crate) fn child(&self, name: &str, level: Option<(Level, Levels)>) -> Option<&Field> {
        match &self.kind {
            Kind::Object { fields } => {
                let (_, f) = fields.iter().find(|(n, _)| *n == name)?;
                match level {
                    Some((level, inherited)) if !f.levels.unwrap_or(inherited).admit(level) => None,
                    _ => Some(f),
                }
            }
            Kind::Record { keys, value, .. } => keys.admit(name).then_some(value.as_ref()),
            Kind::Any | Kind::Boolean | Kind::Number | Kind::String => None,
        }
    }

    pub(crate) fn is_record(&self) -> bool {
        matches!(self.kind, Kind::Record { .. })
    }
}

pub const DEFAULT_EMAIL_THEME_ID: &str = "1df07ae6-abf3-4a40-83a5-a1a2cbe336ac";

/// The built-in email templates, under the ids Stack's SDKs know them by.
pub const EMAIL_TEMPLATES: [(&str, &str); 7] = [
    ("e7d009ce-8d47-4528-b245-5bf119f2ffa3", "Email Verification"),
    ("a70fb3a4-56c1-4e42-af25-49d25603abd0", "Password Reset"),
    ("822687fe-8d0a-4467-a0d1-416b6e639478", "Magic Link/OTP"),
    ("e84de395-2076-4831-9c19-8e9a96a868e4", "Team Invitation"),
    ("066dd73c-36da-4fd0-b6d6-ebf87683f8bc", "Sign In Invitation"),
    ("70372aee-0441-4d80-974c-2e858e40123a", "Payment Receipt"),
    ("f64b1afe-27ec-4a28-a277-7178f3261f9a", "Payment Failed"),
];

const EMAIL_THEMES: [(&str, &str); 3] = [
    (DEFAULT_EMAIL_THEME_ID, "Default Light"),
    ("a0172b5d-cff0-463b-83bb-85124697373a", "Default Dark"),
    ("c7e2d94f-8a1b-4e6d-b3f5-9d0a2e7c1b8f", "Default Colorful"),
];

/// Stack's apps, in the order its dashboard lists them.
pub const APPS: &[&str] = &[
    "authentication",
    "fraud-protection",
    "onboarding",
    "teams",
    "rbac",
    "api-keys",
    "payments",
    "emails",
    "support",
    "email-api",
    "data-vault",
    "webhooks",
    "tv-mode",
    "launch-checklist",
    "catalyst",
    "neon",
    "convex",
    "vercel",
    "tanstack-start",
    "analytics",
    "session-replays",
];

pub const OAUTH_PROVIDERS: &[&str] = &[
    "google",
    "github",
    "microsoft",
    "spotify",
    "facebook",
    "discord",
    "gitlab",
    "bitbucket",
    "linkedin",
    "apple",
    "x",
    "twitch",
    // Any OpenID Connect provider, found by its issuer URL (`issuerUrl`): Gatehouse's own.
    "oidc",
];

/// Stack's provider types: all of [`OAUTH_PROVIDERS`] but Gatehouse's `oidc`, the last.
pub const STACK_OAUTH_PROVIDERS: &[&str] = OAUTH_PROVIDERS.split_at(OAUTH_PROVIDERS.len() - 1).0;

/// The whole tree. Top-level keys say their levels; everything below inherits unless it says.
pub(crate) static SCHEMA: LazyLock<Field> = LazyLock::new(|| {
    use Keys::*;
    use Levels::*;
    let flag = |on: bool| boolean().default(json!(on));
    let id_map = || record(Permission, boolean());
    let customer_type = || string().one_of(&["user", "team", "custom"]);
    let oauth_provider = object(vec![
        ("type", string().one_of(OAUTH_PROVIDERS)),
        ("isShared", flag(true).env()),
        ("clientId", string().env()),
        ("clientSecret", string().env()),
        ("customCallbackUrl", string().env()),
        ("facebookConfigId", string().env()),
        ("microsoftTenantId", string().env()),
        ("issuerUrl", string().env()),
        // Endpoints of a self-hosted install of a known provider (GitHub Enterprise Server,
        // GitLab self-managed): Gatehouse's own.
        ("authorizationUrl", string().env()),
        ("tokenUrl", string().env()),
        ("userinfoUrl", string().env()),
        ("emailsUrl", string().env()),
        (
            "appleBundles",
            record(UserId, object(vec![("bundleId", string())]))
                .env()
                .absent(),
        ),
        ("allowSignIn", flag(false)),
        ("allowConnectedAccounts", flag(false)),
    ]);
    let sign_up_rule = object(vec![
        ("enabled", flag(false)),
        ("displayName", string()),
        ("priority", number().default(json!(0))),
        ("condition", string()),
        (
            "action",
            object(vec![
                (
                    "type",
                    string()
                        .one_of(&["allow", "reject", "restrict", "log"])
                        .default(json!("allow")),
                ),
                ("message", string()),
            ]),
        ),
    ]);
    let named = |name: &str| {
        object(vec![
            ("displayName", string().default(json!(name))),
            ("tsxSource", string()),
            ("themeId", string()),
        ])
    };
    // Gatehouse's templates are minijinja: a subject, an HTML body and a text body, and the same
    // per language (`translations.<language>`), beside Stack's fields.
    let parts = || {
        vec![
            ("subject", string()),
            ("html", string()),
            ("text", string()),
        ]
    };
    let mut template_fields = vec![
        ("displayName", string().default(json!("Unnamed Template"))),
        ("tsxSource", string()),
        ("themeId", string()),
    ];
    template_fields.extend(parts());
    template_fields.push(("translations", record(UserId, object(parts()))));
    let template = object(template_fields);
    let mut price_fields: Vec<(&'static str, Field)> =
        ["USD", "EUR", "GBP", "JPY", "INR", "AUD", "CAD"]
            .map(|c| (c, string()))
            .into();
    price_fields.extend([
        ("interval", any()),
        ("serverOnly", flag(false)),
        ("freeTrial", any()),
    ]);
    let product = object(vec![
        ("displayName", string().with_key_default()),
        ("productLineId", string()),
        ("customerType", customer_type().default(json!("user"))),
        ("freeTrial", any()),
        ("serverOnly", flag(false)),
        ("stackable", boolean()),
        ("isAddOnTo", any().default(json!(false))),
        ("prices", record(UserId, object(price_fields))),
        (
            "includedItems",
            record(
                UserId,
                object(vec![
                    ("quantity", number().default(json!(0))),
                    ("repeat", any().default(json!("never"))),
                    (
                        "expires",
                        string()
                            .one_of(&["never", "when-purchase-expires", "when-repeated"])
                            .default(json!("when-repeated")),
                    ),
                ]),
            ),
        ),
    ]);
    object(vec![
        (
            "sourceOfTruth",
            any()
                .default(json!({ "type": "hosted" }))
                .levels(ProjectOnly),
        ),
        (
            "project",
            object(vec![("requirePublishableClientKey", flag(false))]).levels(ProjectOnly),
        ),
        (
            "rbac",
            object(vec![
                (
                    "permissions",
                    record(
                        CustomPermission,
                        object(vec![
                            ("description", string()),
                            ("scope", string().one_of(&["team", "project"])),
                            ("containedPermissionIds", id_map()),
                        ]),
                    ),
                ),
                (
                    "defaultPermissions",
                    object(vec![
                        ("teamCreator", id_map()),
                        ("teamMember", id_map()),
                        ("signUp", id_map()),
                    ]),
                ),
            ]),
        ),
        (
            "apiKeys",
            object(vec![(
                "enabled",
                object(vec![("team", flag(false)), ("user", flag(false))]),
            )]),
        ),
        (
            "apps",
            object(vec![(
                "installed",
                record(OneOf(APPS), object(vec![("enabled", flag(false))]))
                    .preset(APPS.iter().map(|a| (*a, json!({}))).collect()),
            )]),
        ),
        (
            "teams",
            object(vec![
                ("createPersonalTeamOnSignUp", flag(false)),
                ("allowClientTeamCreation", flag(false)),
            ]),
        ),
        (
            "users",
            object(vec![("allowClientUserDeletion", flag(false))]),
        ),
        (
            "onboarding",
            object(vec![("requireEmailVerification", flag(false))]),
        ),
        (
            "domains",
            object(vec![
                ("allowLocalhost", flag(false).env()),
                (
                    "trustedDomains",
                    record(
                        UserId,
                        object(vec![
                            ("baseUrl", string()),
                            ("handlerPath", string().default(json!("/handler"))),
                        ]),
                    )
                    .env(),
                ),
            ]),
        ),
        (
            "auth",
            object(vec![
                ("allowSignUp", flag(true)),
                ("password", object(vec![("allowSignIn", flag(false))])),
                ("otp", object(vec![("allowSignIn", flag(false))])),
                ("passkey", object(vec![("allowSignIn", flag(false))])),
                (
                    "oauth",
                    object(vec![
                        (
                            "accountMergeStrategy",
                            string()
                                .one_of(&["link_method", "raise_error", "allow_duplicates"])
                                .default(json!("link_method")),
                        ),
                        ("providers", record(Permission, oauth_provider)),
                    ]),
                ),
                ("signUpRules", record(UserId, sign_up_rule)),
                (
                    "signUpRulesDefaultAction",
                    string()
                        .one_of(&["allow", "reject"])
                        .default(json!("allow")),
                ),
            ]),
        ),
        (
            "emails",
            object(vec![
                (
                    "server",
                    object(vec![
                        ("isShared", flag(true)),
                        (
                            "provider",
                            string()
                                .one_of(&["resend", "smtp", "managed"])
                                .default(json!("smtp")),
                        ),
                        ("host", string()),
                        ("port", number()),
                        ("username", string()),
                        ("password", string()),
                        ("senderName", string()),
                        ("senderEmail", string()),
                        ("managedSubdomain", string()),
                        ("managedSenderLocalPart", string()),
                    ])
                    .env(),
                ),
                (
                    "selectedThemeId",
                    string().default(json!(DEFAULT_EMAIL_THEME_ID)),
                ),
                (
                    "themes",
                    record(Uuid, named("Unnamed Theme")).preset(
                        EMAIL_THEMES
                            .iter()
                            .map(|(id, name)| (*id, json!({ "displayName": name })))
                            .collect(),
                    ),
                ),
                (
                    "templates",
                    record(Uuid, template).preset(
                        EMAIL_TEMPLATES
                            .iter()
                            .map(|(id, name)| (*id, json!({ "displayName": name })))
                            .collect(),
                    ),
                ),
            ]),
        ),
        (
            "payments",
            object(vec![
                ("blockNewPurchases", flag(false)),
                ("testMode", flag(true).env()),
                ("autoPay", object(vec![("interval", any())]).absent()),
                (
                    "productLines",
                    record(
                        UserId,
                        object(vec![
                            ("displayName", string()),
                            ("customerType", customer_type()),
                        ]),
                    ),
                ),
                ("products", record(UserId, product)),
                (
                    "items",
                    record(
                        UserId,
                        object(vec![
                            ("displayName", string().with_key_default()),
                            ("customerType", customer_type().default(json!("user"))),
                        ]),
                    ),
                ),
            ]),
        ),
        (
            "dbSync",
            object(vec![(
                "externalDatabases",
                record(
                    UserId,
                    object(vec![
                        ("type", string().one_of(&["postgres"])),
                        ("connectionString", string()),
                    ]),
                ),
            )]),
        ),
        (
            "dataVault",
            object(vec![(
                "stores",
                record(
                    UserId,
                    object(vec![(
                        "displayName",
                        string().default(json!("Unnamed Vault")),
                    )]),
                ),
            )]),
        ),
        (
            "analytics",
            object(vec![(
                "queryFolders",
                record(
                    UserId,
                    object(vec![
                        ("displayName", string().default(json!("Unnamed Folder"))),
                        ("sortOrder", number().default(json!(0))),
                        (
                            "queries",
                            record(
                                UserId,
                                object(vec![
                                    ("displayName", string().default(json!("Unnamed Query"))),
                                    ("sqlQuery", string().default(json!(""))),
                                    ("description", string()),
                                ]),
                            ),
                        ),
                    ]),
                ),
            )])
            .env(),
        ),
        (
            "customDashboards",
            record(Uuid, named("Unnamed Dashboard")).env(),
        ),
        // Gatehouse's own: how the hosted pages behave in this deployment.
        (
            "hostedPages",
            object(vec![
                ("afterSignInUrl", string()),
                ("frameOrigins", record(UserId, string())),
            ])
            .env(),
        ),
        // Gatehouse's own: what the server does against abuse.
        (
            "security",
            object(vec![
                ("refuseCommonPasswords", flag(true)),
                ("rateLimits", rate_limits()),
                (
                    "lockout",
                    object(vec![
                        ("maxFailures", number().default(json!(10))),
                        ("coolDownSeconds", number().default(json!(900))),
                    ]),
                ),
                (
                    "botChallenge",
                    object(vec![
                        (
                            "mode",
                            string()
                                .one_of(&["off", "proofOfWork", "turnstile"])
                                .default(json!("off")),
                        ),
                        (
                            "proofOfWorkBits",
                            number().default(json!(super::limits::DEFAULT_PROOF_OF_WORK_BITS)),
                        ),
                        ("turnstileSiteKey", string()),
                        ("turnstileSecretKey", string().env()),
                    ]),
                ),
            ]),
        ),
    ])
    .levels(BranchAndEnvironment)
});

/// `security.rateLimits`: per action, a limit per address and (where the action names an
/// account) per account, with the defaults of [`crate::rate_limits::Action::defaults`].
fn rate_limits() -> Field {
    use super::limits::{Action, Limit};
    let limit = |d: Limit| {
        object(vec![
            ("max", number().default(json!(d.max))),
            ("windowSeconds", number().default(json!(d.window_s))),
        ])
    };
    object(
        Action::ALL
            .iter()
            .map(|a| {
                let (ip, account) = a.defaults();
                let mut fields = vec![("perIp", limit(ip))];
                if let Some(d) = account {
                    fields.push(("perAccount", limit(d)));
                }
                (a.key(), object(fields))
            })
            .collect(),
    )
}

impl Field {
    fn with_key_default(mut self) -> Field {
        self.default = Default::Key;
        self
    }
}

/// The inherited levels of the root's children.
const ROOT_LEVELS: Levels = Levels::BranchAndEnvironment;

/// The field at a dotted `key` as `level` may set it; `Err(prefix)` names the first part of the
/// key the schema has no room for there.
pub(crate) fn field_at<'a>(level: Level, key: &str) -> Result<&'a Field, String> {
    let mut at: &Field = &SCHEMA;
    let mut inherited = ROOT_LEVELS;
    let mut prefix = String::new();
    for part in key.split('.') {
        if !prefix.is_empty() {
            prefix.push('.');
        }
        prefix.push_str(part);
        if matches!(at.kind, Kind::Any) {
            continue;
        }
        match at.child(part, Some((level, inherited))) {
            Some(f) => {
                inherited = f.levels.unwrap_or(inherited);
                at = f;
            }
            None => return Err(prefix),
        }
    }
    Ok(at)
}

/// Stack's check of one override value against its field: the type (strictly, no casting),
/// the allowed values, and no unknown keys in objects. `null` is always allowed: it resets.
pub(crate) fn check_value(f: &Field, at: &str, v: &Value, level: Level) -> Result<(), String> {
    check(f, at, v, level, f.levels.unwrap_or(ROOT_LEVELS))
}

fn check(f: &Field, at: &str, v: &Value, level: Level, inherited: Levels) -> Result<(), String> {
    if v.is_null() {
        return Ok(());
    }
    let type_name = match (&f.kind, v) {
        (Kind::Any, _)
        | (Kind::Boolean, Value::Bool(_))
        | (Kind::Number, Value::Number(_))
        | (Kind::String, Value::String(_))
        | (Kind::Object { .. } | Kind::Record { .. }, Value::Object(_)) => None,
        (Kind::Boolean, _) => Some("boolean"),
        (Kind::Number, _) => Some("number"),
        (Kind::String, _) => Some("string"),
        (Kind::Object { .. } | Kind::Record { .. }, _) => Some("object"),
    };
    if let Some(kind) = type_name {
        return Err(crate::validation::type_error(at, kind, v, None));
    }
    if let (Value::String(s), false) = (v, f.one_of.is_empty()) {
        if !f.one_of.contains(&s.as_str()) {
            return Err(one_of_error(at, f.one_of));
        }
    }
    match (&f.kind, v) {
        (Kind::Object { fields }, Value::Object(map)) => {
            let unknown: Vec<&str> = map
                .keys()
                .filter(|k| f.child(k, Some((level, inherited))).is_none())
                .map(String::as_str)
                .collect();
            if !unknown.is_empty() {
                return Err(format!(
                    "{at} contains unknown properties: {}",
                    unknown.join(", ")
                ));
            }
            for (name, child) in fields {
                if let Some(value) = map.get(*name) {
                    let levels = child.levels.unwrap_or(inherited);
                    check(child, &format!("{at}.{name}"), value, level, levels)?;
                }
            }
            Ok(())
        }
        (Kind::Record { keys, value, .. }, Value::Object(map)) => {
            // Keys are checked for their form only where Stack does (apps by name); an entry is
            // named by the record's own path, as Stack words it.
            for (k, item) in map {
                if let Keys::OneOf(allowed) = keys {
                    if !allowed.contains(&k.as_str()) {
                        return Err(one_of_error(at, allowed));
                    }
                }
                check(value, at, item, level, inherited)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn one_of_error(at: &str, values: &[&str]) -> String {
    format!(
        "{at} must be one of the following values: {}",
        values.join(", ")
    )
}

/// What a field holds when nothing overrides it (`None`: absent from the rendered config).
/// `key` is the id of the record entry the field belongs to (a product's name defaults to it).
pub(crate) fn default_of(f: &Field, key: &str) -> Option<Value> {
    if matches!(f.default, Default::Absent) {
        return None;
    }
    match &f.kind {
        Kind::Object { fields } => {
            let mut map = Map::new();
            for (name, child) in fields {
                if let Some(v) = default_of(child, key) {
                    map.insert((*name).into(), v);
                }
            }
            Some(Value::Object(map))
        }
        Kind::Record { value, preset, .. } => {
            let mut map = Map::new();
            for (k, entry) in preset {
                map.insert((*k).into(), with_defaults(value, k, entry.clone()));
            }
            Some(Value::Object(map))
        }
        _ => match &f.default {
            Default::None | Default::Absent => None,
            Default::Value(v) => Some(v.clone()),
            Default::Key => Some(Value::String(key.into())),
        },
    }
}

/// `v` as set by an override, with the field's defaults filling what it leaves out. `null`
/// inside an object resets that key to its default; a record entry set to `null` is dropped.
pub(crate) fn with_defaults(f: &Field, key: &str, v: Value) -> Value {
    match (&f.kind, v) {
        (Kind::Object { fields }, Value::Object(given)) => {
            let mut out = match default_of(f, key) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (k, item) in given {
                let child = fields.iter().find(|(n, _)| *n == k).map(|(_, c)| c);
                match (child, item) {
                    (Some(c), Value::Null) => match default_of(c, key) {
                        Some(d) => {
                            out.insert(k, d);
                        }
                        None => {
                            out.remove(&k);
                        }
                    },
                    (Some(c), item) => {
                        out.insert(k.clone(), with_defaults(c, &k, item));
                    }
                    (None, Value::Null) => {
                        out.remove(&k);
                    }
                    (None, item) => {
                        out.insert(k, item);
                    }
                }
            }
            Value::Object(out)
        }
        (Kind::Record { value, .. }, Value::Object(given)) => {
            let mut out = match default_of(f, key) {
                Some(Value::Object(m)) => m,
                _ => Map::new(),
            };
            for (k, item) in given {
                if item.is_null() {
                    out.remove(&k);
                } else {
                    out.insert(k.clone(), with_defaults(value, &k, item));
                }
            }
            Value::Object(out)
        }
        (_, v) => v,
    }
}
